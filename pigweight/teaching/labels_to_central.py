"""A site's labelled frames to the central, for a group model (issue 21, part 3).

Every SEND_EVERY_S the site sends each labelled frame whose newest version the hub has not
acknowledged yet: one message on `pw.labels.<site>.frame.<id>` into the hub's `PW_LABELS_<site>`
(the JPEG as the body; camera, version, boxes, who in the `Pw-Label` header), with
`Nats-Msg-Id: <site>-<frame>-<version>`. The stream keeps one message a subject, so a
frame sent again (a crash before the sent list was saved) or relabelled replaces itself:
the central holds each site's frames once, newest version. What was acknowledged is kept in
DATA_DIR/labels/sent.json (frame -> version). A frame over MAX_LABEL_BYTES is skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from nats.js import JetStreamContext

from pigweight.durable import replace_file
from pigweight.sites.models import MAX_LABEL_BYTES, label_subject
from pigweight.teaching.frames import LabelQueue

logger = logging.getLogger(__name__)

SEND_EVERY_S = 30.0
SENT_FILE = Path("labels") / "sent.json"


class LabelSender:
    """Called from the site's model task (teaching/from_central.py) with its hub context."""

    def __init__(self, site: str, queue: LabelQueue, cameras: Callable[[], list[str]]) -> None:
        self.site = site
        self.queue = queue
        self._cameras = cameras
        self._path = queue.data_dir / SENT_FILE
        try:
            saved = json.loads(self._path.read_text(encoding="utf-8"))
            self.sent: dict[str, int] = {str(k): int(v) for k, v in saved.items()}
        except (OSError, ValueError):
            self.sent = {}
        self.skipped = 0

    async def send(self, js: JetStreamContext) -> int:
        """Sends what the hub lacks; returns how many frames went."""
        sent = 0
        for camera in self._cameras():
            for frame in self.queue.labelled(camera):
                if self.sent.get(str(frame.id)) == frame.version:
                    continue
                data = self.queue.image_path(frame).read_bytes()
                if len(data) > MAX_LABEL_BYTES:
                    self.skipped += 1
                    continue
                label = {
                    "site": self.site,
                    "frame_id": frame.id,
                    "camera": frame.camera,
                    "ts": frame.ts,
                    "version": frame.version,
                    "width": frame.width,
                    "height": frame.height,
                    "infrared": frame.infrared,
                    "boxes": [list(b) for b in frame.boxes or ()],
                    "labelled_by": frame.labelled_by,
                }
                await js.publish(
                    label_subject(self.site, frame.id),
                    data,
                    headers={
                        "Nats-Msg-Id": f"{self.site}-{frame.id}-{frame.version}",
                        "Pw-Label": json.dumps(label),
                    },
                )
                self.sent[str(frame.id)] = frame.version
                sent += 1
        if sent:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self._path, json.dumps(self.sent).encode())
            logger.info("labels: %d labelled frames sent to the central", sent)
        return sent
