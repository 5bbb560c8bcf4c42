"""A malformed multipart form is the client's error on every form route: a 422 whose
`{detail, code}` says what is wrong with the form, never a 500 or a bare "invalid"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

# Every route that takes a multipart/form-data body: the photo and the streamed video.
FORM_ROUTES = ["/api/count_image", "/api/video_file/upload"]


def form(boundary: str, data: bytes = b"\xff\xd8\xff not really a photo") -> bytes:
    """A well-formed one-file form delimited by `boundary`."""
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode()


# (content type, body, a word the detail must hold): each is refused with bad_multipart.
BAD_FORMS = {
    "long-boundary": (
        "multipart/form-data; boundary=" + "a" * 300,
        form("a" * 300),
        "70",
    ),
    "boundary-71": ("multipart/form-data; boundary=" + "b" * 71, form("b" * 71), "70"),
    "no-boundary": ("multipart/form-data", form("xyz"), "boundary"),
    "empty-boundary": ('multipart/form-data; boundary=""', form(""), "boundary"),
    "boundary-braces": ('multipart/form-data; boundary="x{y}"', form("x{y}"), "character"),
    "boundary-at": ('multipart/form-data; boundary="a@b"', form("a@b"), "character"),
    "boundary-ends-in-space": ('multipart/form-data; boundary="abc "', form("abc "), "space"),
    "boundary-non-ascii": ("multipart/form-data; boundary=caf\xe9", form("cafe"), "character"),
    "not-a-form": ("multipart/form-data; boundary=xyz", b"garbage, not a form\r\n\r\n", "form"),
    "bad-part-header": (
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nno colon in this header\r\n\r\nabc\r\n--xyz--\r\n",
        "form",
    ),
    "truncated": ("multipart/form-data; boundary=xyz", form("xyz", b"\xff" * 5000)[:200], "form"),
}


@pytest.fixture(scope="module")
def module_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from pigweight.app import create_app
    from tests.api.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("forms"), demo_video_seconds=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("route", FORM_ROUTES)
@pytest.mark.parametrize("case", list(BAD_FORMS))
def test_a_malformed_form_is_a_422_that_says_what_is_wrong(
    module_client: TestClient, route: str, case: str
) -> None:
    content_type, body, word = BAD_FORMS[case]
    headers = {"content-type": content_type.encode("latin-1")}  # as sent on the wire
    response = module_client.post(route, content=body, headers=headers)
    assert response.status_code == 422, (response.status_code, response.text[:200])
    answer = response.json()
    assert answer["code"] == "bad_multipart", answer
    assert word in answer["detail"], answer["detail"]


@pytest.mark.parametrize("route", FORM_ROUTES)
@pytest.mark.parametrize(
    "boundary",
    ["a" * 70, "----WebKitFormBoundary7MA4YWxkTrZu0gW", "0123'()+_,-./:=?", "with inner space"],
    ids=["70-chars", "browser", "every-punctuation", "inner-space"],
)
def test_every_boundary_the_rfc_allows_is_accepted(
    module_client: TestClient, route: str, boundary: str
) -> None:
    response = module_client.post(
        route,
        content=form(boundary),
        headers={"content-type": f'multipart/form-data; boundary="{boundary}"'},
    )
    # The form is read: what is refused, if anything, is the file inside it.
    assert response.json().get("code") != "bad_multipart", response.text[:200]
    assert response.status_code < 500
