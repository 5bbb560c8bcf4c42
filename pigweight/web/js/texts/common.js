// Texts every view uses: the page's frame, errors, units. Russian first, English beside
// it: every key in both.

export default {
  ru: {
    tagline: "Подсчёт и взвешивание поросят",
    skip: "К содержимому",
    "nav.label": "Разделы",
    "nav.live": "Весы",
    "nav.history": "История",
    "nav.archive": "Архив",
    "nav.photo": "Фото",
    languageGroup: "Язык интерфейса",
    "error.unknownGeneric": "Что-то пошло не так. Попробуйте ещё раз.",
    ms: "{value} мс",
    seconds: "{value} с",
    detailPrefix: "Подробности: ",
    "error.network": "Нет связи с сервером PigWeight. Проверьте, что он запущен, и повторите.",
  },
  en: {
    tagline: "Counting and weighing piglets",
    skip: "Skip to content",
    "nav.label": "Sections",
    "nav.live": "Scale",
    "nav.history": "History",
    "nav.archive": "Archive",
    "nav.photo": "Photo",
    languageGroup: "Interface language",
    "error.unknownGeneric": "Something went wrong. Try again.",
    ms: "{value} ms",
    seconds: "{value} s",
    detailPrefix: "Details: ",
    "error.network": "No connection to the PigWeight server. Check that it is running and try again.",
  },
};
