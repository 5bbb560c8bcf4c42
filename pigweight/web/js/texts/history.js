// The history view: weighings by date and camera, daily summary, CSV. Russian first,
// English beside it: every key in both.

export default {
  ru: {
    "history.title": "История взвешиваний",
  },
  en: {
    "history.title": "Weighing history",
  },
};
