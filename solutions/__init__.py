"""disc05 answer key: reference implementations of every graded function.

`GRADED` lists them in the order students meet them; the written answers are in
`written_answers.md` beside this file.
"""

from pathlib import Path

from .dropout import (
    dropout_gamma,
    dropout_loss,
    dropout_to_ridge_weights,
    effective_column_norm,
    effective_matrix,
    ridge_to_tikhonov_weights,
)
from .residual import (
    max_sigmoid_grad,
    residual_block,
    residual_jacobian,
    sigmoid,
    sigmoid_grad,
)

WRITTEN_ANSWERS = Path(__file__).with_name("written_answers.md")

GRADED = {
    f.__name__: f
    for f in (
        sigmoid,
        sigmoid_grad,
        max_sigmoid_grad,
        residual_block,
        residual_jacobian,
        dropout_loss,
        dropout_to_ridge_weights,
        dropout_gamma,
        effective_matrix,
        ridge_to_tikhonov_weights,
        effective_column_norm,
    )
}

__all__ = ["GRADED", "WRITTEN_ANSWERS", *GRADED]
