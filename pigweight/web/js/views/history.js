// The history view: weighings by date range and camera, with their snapshots, a daily
// summary and the CSV of what is shown.

export function init() {}
