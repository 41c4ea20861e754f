"""Release tooling: render, check and package the release (`python -m autograder build`).

Nothing here grades a submission, and nothing here ships: the autograder zip holds the
`autograder` package without this subpackage. The runtime never imports it; only the
command line reaches it, for the commands that build, benchmark or set up a Gradescope venv.
"""
