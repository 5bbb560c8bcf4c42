"""GET /metrics: the app's Prometheus metrics in the text exposition format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from pigweight.metrics import AppMetrics

router = APIRouter(tags=["service"])


def get_metrics(request: Request) -> AppMetrics:
    """The app's metrics registry (built in create_app)."""
    metrics: AppMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[AppMetrics, Depends(get_metrics)]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(app_metrics: MetricsDep) -> Response:
    """Cameras, live clients, the count store, weighings, archive jobs and loop lag."""
    return Response(await app_metrics.render(), media_type=CONTENT_TYPE_LATEST)
