# @title Setup: run this cell before anything else
# Unpacks the public checks, and the code that runs them, into the folder __CHECKS_FOLDER__/
# next to this notebook (read them there if you like), then runs that code: it creates
# `grader`, and grader.check("q1a") prints one line per function. The notebook carries all of
# it, so it works the same on your computer, on a JupyterHub and on Google Colab.
import base64
import io
import pathlib
import zipfile

import numpy as np  # noqa: F401 - the functions below use np

CHECKS_FOLDER = "__CHECKS_FOLDER__"
PUBLIC_CHECKS = "__PUBLIC_CHECKS__"
zipfile.ZipFile(io.BytesIO(base64.b64decode(PUBLIC_CHECKS))).extractall(CHECKS_FOLDER)
HELPERS = f"{CHECKS_FOLDER}/__HELPERS__"
exec(compile(pathlib.Path(HELPERS).read_text(encoding="utf-8"), HELPERS, "exec"))
