"""``@cell:N`` of a cell that displayed a picture sends the picture to the model, in a real
kernel: the PNG the cell showed arrives as an image part at the loopback server."""

import pytest

from tests.support.fake_llm import FakeLLM, Rule
from tests.support.images import png_base64
from tests.support.kernel import KernelHarness

pytestmark = pytest.mark.kernel

PNG = png_base64(120, 80)
RESULT = png_base64(30, 20)


def test_a_plot_mentioned_with_at_cell_reaches_the_model_as_an_image(tmp_path):
    # Mutation: magic._send passing no images -> the request carries none.
    with FakeLLM([Rule(text="A red rectangle.")]) as llm:
        harness = KernelHarness(
            cwd=tmp_path,
            env={
                "COLLET_PROVIDER": "openai",
                "COLLET_BASE_URL": llm.base_url,
                "COLLET_API_KEY": "sk-cell-images-test",
                "COLLET_MODEL": "m",
                "COLLET_HOME": str(tmp_path / "home"),
            },
        )
        try:
            harness.execute("%load_ext collet_nb")
            harness.execute(
                "import base64\nfrom IPython.display import Image, display\n"
                f"display(Image(data=base64.b64decode({PNG!r})))"
            )
            # A picture left as the cell's result is an execute_result, not a display.
            harness.execute(f"Image(data=base64.b64decode({RESULT!r}))")
            harness.execute("%%collet --wait\nwhat is in @cell:2 and @cell:3?")
        finally:
            harness.shutdown()
        (request,) = llm.chat_requests
    assert request.images == [("user", "image/png", PNG), ("user", "image/png", RESULT)]
    assert "what is in @cell:2 and @cell:3?" in request.last_text
