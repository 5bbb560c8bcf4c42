// Texts of the page in Russian (first) and English. Keys are used by data-i18n attributes
// in index.html and by the other modules; {name} placeholders are filled by t().

const STORAGE_KEY = "pigweight.lang";
export const LANGUAGES = ["ru", "en"];

const TEXTS = {
  ru: {
    tagline: "Подсчёт поросят по фото",
    languageGroup: "Язык интерфейса",
    dropTitle: "Перетащите фото сюда",
    dropOr: "или",
    chooseFile: "Выбрать файл",
    dropHint: "JPEG, PNG, BMP, TIFF или WebP · до {mb} МБ",
    dropRelease: "Отпустите, чтобы посчитать",
    counting: "Считаем…",
    countLabel: "Голов на фото",
    confidence: "Уверенность",
    time: "Время",
    size: "Размер фото",
    segmenter: "Метод",
    chooseAnother: "Посчитать другое фото",
    liveTitle: "Камера",
    liveCount: "Голов на весах",
    liveNoCamera: "Камера не настроена",
    liveStreamAlt: "Видео с камеры с отмеченными животными",
    "live.starting": "Запуск…",
    "live.connecting": "Подключение к камере…",
    "live.streaming": "Идёт подсчёт",
    "live.reconnecting": "Связь потеряна, переподключение…",
    "live.stopped": "Камера остановлена",
    "live.error": "Ошибка камеры",
    "weigh.title": "Взвешивание",
    "weigh.total": "Общий вес, кг",
    "weigh.count": "Голов",
    "weigh.countAuto": "с камеры: {count}",
    "weigh.countNeeded": "введите число голов",
    "weigh.note": "Примечание",
    "weigh.save": "Сохранить",
    "weigh.saved": "Запись №{id}: {count} гол. · {total} кг · {avg} кг на голову",
    "weigh.today": "Взвешивания за сегодня",
    "weigh.csv": "Скачать CSV",
    "weigh.empty": "Сегодня взвешиваний ещё не было",
    "weigh.more": "Показаны последние {shown} из {total}",
    "weigh.auto": "(камера)",
    "weigh.photo": "фото",
    "weigh.col.time": "Время",
    "weigh.col.camera": "Камера",
    "weigh.col.count": "Голов",
    "weigh.col.total": "Вес, кг",
    "weigh.col.avg": "Средний, кг",
    "weigh.col.photo": "Фото",
    "weigh.col.note": "Примечание",
    "weigh.badTotal": "Введите общий вес в килограммах, например 412,5.",
    "weigh.badCount": "Число голов — целое от 1 до 1000. Оставьте пустым, чтобы взять счёт камеры.",
    "weigh.error.invalid_weighing": "Такое взвешивание не сохранено: проверьте вес и число голов.",
    "weigh.error.invalid_request": "Проверьте введённые числа.",
    "weigh.error.count_unavailable": "Камера сейчас не даёт устойчивого счёта. Введите число голов.",
    "weigh.error.http_404": "Камера не найдена. Обновите страницу.",
    "weigh.error.idempotency_conflict": "Запрос уже использован. Нажмите «Сохранить» ещё раз.",
    "weigh.error.unknown": "Не удалось сохранить взвешивание. Попробуйте ещё раз.",
    "archive.title": "Архив видео",
    "archive.file": "Запись",
    "archive.countAt": "Голов в этот момент",
    "archive.playError": "Не удалось воспроизвести запись",
    "archive.state.queued": "В очереди на разбор",
    "archive.state.indexing": "Разбор записи: {percent} %",
    "archive.state.done": "Запись разобрана",
    "archive.state.cancelled": "Разбор остановлен",
    "archive.state.error": "Ошибка разбора записи",
    overlayAlt: "Фото с отмеченными животными",
    ms: "{value} мс",
    seconds: "{value} с",
    detailPrefix: "Подробности: ",
    "error.invalid_image": "Это не фото или файл повреждён. Выберите снимок JPEG, PNG, BMP, TIFF или WebP.",
    "error.image_too_large": "Слишком большое изображение: не больше {mp} мегапикселей. Уменьшите фото.",
    "error.upload_too_large": "Файл слишком большой: не больше {mb} МБ. Выберите фото поменьше.",
    "error.model_unavailable": "Модель распознавания не загружена. Сообщите администратору.",
    "error.missing_file": "Файл не дошёл до сервера. Выберите фото ещё раз.",
    "error.network": "Нет связи с сервером PigWeight. Проверьте, что он запущен, и повторите.",
    "error.unknown": "Не удалось посчитать фото. Попробуйте ещё раз.",
  },
  en: {
    tagline: "Piglet count from a photo",
    languageGroup: "Interface language",
    dropTitle: "Drop a photo here",
    dropOr: "or",
    chooseFile: "Choose file",
    dropHint: "JPEG, PNG, BMP, TIFF or WebP · up to {mb} MB",
    dropRelease: "Release to count",
    counting: "Counting…",
    countLabel: "Animals on the photo",
    confidence: "Confidence",
    time: "Time",
    size: "Photo size",
    segmenter: "Method",
    chooseAnother: "Count another photo",
    liveTitle: "Camera",
    liveCount: "Animals on the scale",
    liveNoCamera: "No camera configured",
    liveStreamAlt: "Camera video with the animals marked",
    "live.starting": "Starting…",
    "live.connecting": "Connecting to the camera…",
    "live.streaming": "Counting",
    "live.reconnecting": "Connection lost, reconnecting…",
    "live.stopped": "Camera stopped",
    "live.error": "Camera error",
    "weigh.title": "Weighing",
    "weigh.total": "Total weight, kg",
    "weigh.count": "Head count",
    "weigh.countAuto": "from the camera: {count}",
    "weigh.countNeeded": "enter the head count",
    "weigh.note": "Note",
    "weigh.save": "Save",
    "weigh.saved": "Record #{id}: {count} head · {total} kg · {avg} kg a head",
    "weigh.today": "Today's weighings",
    "weigh.csv": "Download CSV",
    "weigh.empty": "No weighings yet today",
    "weigh.more": "Showing the last {shown} of {total}",
    "weigh.auto": "(camera)",
    "weigh.photo": "photo",
    "weigh.col.time": "Time",
    "weigh.col.camera": "Camera",
    "weigh.col.count": "Head",
    "weigh.col.total": "Weight, kg",
    "weigh.col.avg": "Average, kg",
    "weigh.col.photo": "Photo",
    "weigh.col.note": "Note",
    "weigh.badTotal": "Enter the total weight in kilograms, e.g. 412.5.",
    "weigh.badCount": "The head count is a whole number from 1 to 1000. Leave it empty to use the camera's count.",
    "weigh.error.invalid_weighing": "This weighing was not saved: check the weight and the head count.",
    "weigh.error.invalid_request": "Check the numbers you entered.",
    "weigh.error.count_unavailable": "The camera has no steady count right now. Enter the head count.",
    "weigh.error.http_404": "Camera not found. Reload the page.",
    "weigh.error.idempotency_conflict": "That request was already used. Press Save again.",
    "weigh.error.unknown": "The weighing could not be saved. Try again.",
    "archive.title": "Video archive",
    "archive.file": "Recording",
    "archive.countAt": "Animals at this moment",
    "archive.playError": "The recording cannot be played",
    "archive.state.queued": "Waiting to be indexed",
    "archive.state.indexing": "Indexing: {percent} %",
    "archive.state.done": "Indexed",
    "archive.state.cancelled": "Indexing stopped",
    "archive.state.error": "Indexing failed",
    overlayAlt: "Photo with the animals marked",
    ms: "{value} ms",
    seconds: "{value} s",
    detailPrefix: "Details: ",
    "error.invalid_image": "This is not a photo, or the file is damaged. Choose a JPEG, PNG, BMP, TIFF or WebP picture.",
    "error.image_too_large": "The image is too large: at most {mp} megapixels. Make the photo smaller.",
    "error.upload_too_large": "The file is too large: at most {mb} MB. Choose a smaller photo.",
    "error.model_unavailable": "The recognition model is not loaded. Tell your administrator.",
    "error.missing_file": "The file did not reach the server. Choose the photo again.",
    "error.network": "No connection to the PigWeight server. Check that it is running and try again.",
    "error.unknown": "The photo could not be counted. Try again.",
  },
};

let current = "ru";

export function language() {
  return current;
}

export function t(key, params = {}) {
  const text = TEXTS[current][key] ?? TEXTS.ru[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export function hasText(key) {
  return key in TEXTS[current];
}

// The operator's last choice wins over the server's default (settings.ui_language).
export function initialLanguage(serverDefault) {
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // Private mode or disabled storage: fall back to the server's default.
  }
  if (LANGUAGES.includes(stored)) return stored;
  return LANGUAGES.includes(serverDefault) ? serverDefault : "ru";
}

export function setLanguage(lang, params = {}) {
  current = LANGUAGES.includes(lang) ? lang : "ru";
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // Not remembered, but the page still switches.
  }
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, params);
  }
  for (const el of document.querySelectorAll("[data-i18n-alt]")) {
    el.alt = t(el.dataset.i18nAlt, params);
  }
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel, params));
  }
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === current));
  }
}
