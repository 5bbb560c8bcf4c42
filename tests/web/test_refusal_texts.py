"""What a refusal reads as on the page, in a real Chromium: api.js's refusalKey is the one
place a server's {code, params} becomes the sentence, for every view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.api.conftest import make_settings
from tests.web.conftest import russian_page
from tests.web.server import serving

pytestmark = pytest.mark.browser

# how: "view:SCOPE" for viewTexts(SCOPE) (a view with its own .server and .unknown texts),
# "A,B" for those scopes then the page-wide sentences, "" for the page-wide ones alone.
READ = """async ([lang, status, payload, how]) => {
  const api = await import("/static/js/api.js");
  const i18n = await import("/static/js/i18n.js");
  i18n.setLanguage(lang);
  let options = how ? { scopes: how.split(",") } : {};
  if (how.startsWith("view:")) options = api.viewTexts(how.slice(5));
  return api.refusalText({ status, payload }, options);
}"""

TOO_HEAVY = {
    "code": "invalid_weighing",
    "detail": "total_weight_kg 950.5 is above the 900 kg limit",
    "params": {"problem": "total_above_limit", "total": 950.5, "limit": 900},
}
CASES: dict[str, tuple[str, int, Any, str, str]] = {
    "the check that refused, with its numbers": (
        "ru",
        422,
        TOO_HEAVY,
        "view:weigh.error",
        "Общий вес 950,5 кг больше предела 900 кг. Проверьте показание весов.",
    ),
    "the same in English": (
        "en",
        422,
        TOO_HEAVY,
        "view:weigh.error",
        "The total weight 950.5 kg is above the 900 kg limit. Check the scale reading.",
    ),
    "the view's words for the code": (
        "ru",
        403,
        {"code": "forbidden", "detail": "vera may not do this"},
        "view:record.error",
        "недостаточно прав: войдите как оператор.",
    ),
    "a view's own 'gone'": (
        "ru",
        404,
        {"code": "http_404", "detail": "no frame 7"},
        "labelling.error,error",
        "Этого больше нет (кадр, модель или камера удалены): обновите страницу.",
    ),
    "a server error the view has words for": (
        "ru",
        500,
        None,
        "view:weigh.error",
        "Ошибка на сервере: взвешивание не сохранено. Попробуйте ещё раз.",
    ),
    "the gate's 401, page-wide": (
        "ru",
        401,
        {"code": "unauthorized", "detail": "log in first"},
        "",
        "Сеанс закончился: войдите снова.",
    ),
    "a code nobody has words for": (
        "en",
        422,
        {"code": "something_new", "detail": "x"},
        "",
        "The server did not accept the request (answer 422, code something_new).",
    ),
    "no body at all": (
        "ru",
        400,
        None,
        "",
        "Сервер не принял запрос (ответ 400, код —).",
    ),
}


@pytest.fixture(scope="module")
def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    work: Path = tmp_path_factory.mktemp("refusals")
    with serving(make_settings(work, demo_scale=False)) as url, russian_page(browser) as page:
        page.goto(f"{url}/login")
        yield page


@pytest.mark.parametrize("case", list(CASES))
def test_a_refusal_reads_as_the_views_sentence(page: Page, case: str) -> None:
    lang, status, payload, how, sentence = CASES[case]
    assert page.evaluate(READ, [lang, status, payload, how]) == sentence
