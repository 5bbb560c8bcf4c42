// The time axis of the count charts: whole-second steps only (a split every 0.2 s printed
// as HH:MM:SS repeated its label), and HH:MM once the step is a minute or more.

export const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

// Labels for uPlot's splits (epoch seconds) at a step of `incr` seconds.
export function timeLabels(splits, incr, locale) {
  const format = new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    ...(incr < 60 ? { second: "2-digit" } : {}),
  });
  return splits.map((s) => format.format(new Date(s * 1000)));
}
