"""The request body's shape: strict types, unknown fields refused, limits at the edges."""
import pytest
from pydantic import ValidationError

from app.api.errors import validation_fields
from app.api.schemas import JobRequest


def parse(**body):
    return JobRequest.model_validate_json(__import__("json").dumps({"kind": "txt2img", "prompt": "p", **body}))


@pytest.mark.parametrize(
    "body",
    [
        {"width": 64, "height": 1024}, {"steps": 1}, {"steps": 50}, {"guidance": 0}, {"guidance": 30},
        {"n": 4}, {"seed": 0}, {"seed": 2**32 - 1}, {"prompt": "x" * 2000}, {"scheduler": "euler_a"},
        {"model": "tiny-sd/v1.0"}, {"negative_prompt": ""}, {"strength": 0.01}, {"strength": 1},
    ],
)
def test_accepted_at_the_edges(body):
    parse(**body)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"width": 8200}, "width"), ({"width": 63}, "width"), ({"height": 500}, "height"), ({"width": -512}, "width"),
        ({"steps": 0}, "steps"), ({"steps": 1001}, "steps"), ({"guidance": 30.5}, "guidance"), ({"guidance": -1}, "guidance"),
        ({"n": 0}, "n"), ({"n": 65}, "n"), ({"strength": 1.5}, "strength"), ({"strength": 0}, "strength"), ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"), ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"), ({"width": "512"}, "width"), ({"steps": True}, "steps"), ({"width": 512.5}, "width"),
        ({"prompt": 5}, "prompt"), ({"kind": "video"}, "kind"), ({"scheduler": "a b"}, "scheduler"), ({"model": "../x"}, "model"), ({"model": "a"*201}, "model"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_refused(body, field):
    with pytest.raises(ValidationError) as caught:
        parse(**body)
    if field:
        assert field in validation_fields(caught.value.errors())


def test_unknown_field_is_named():
    with pytest.raises(ValidationError) as caught:
        parse(colour="red")
    assert validation_fields(caught.value.errors()) == {"colour": ["unknown field"]}
