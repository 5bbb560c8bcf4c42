// The video archive: upload, file list, player, timeline. Russian first, English beside it: every
// key in both.

export default {
  ru: {
    "archive.title": "Архив видео",
    "archive.file": "Запись",
    "archive.countAt": "Голов в этот момент",
    "archive.playError": "Не удалось воспроизвести запись",
    "archive.state.queued": "В очереди на разбор",
    "archive.state.indexing": "Разбор записи: {percent} %",
    "archive.state.done": "Запись разобрана",
    "archive.state.cancelled": "Разбор остановлен",
    "archive.state.error": "Ошибка разбора записи",
  },
  en: {
    "archive.title": "Video archive",
    "archive.file": "Recording",
    "archive.countAt": "Animals at this moment",
    "archive.playError": "The recording cannot be played",
    "archive.state.queued": "Waiting to be indexed",
    "archive.state.indexing": "Indexing: {percent} %",
    "archive.state.done": "Indexed",
    "archive.state.cancelled": "Indexing stopped",
    "archive.state.error": "Indexing failed",
  },
};
