"""Request and response models of the HTTP API (they are the OpenAPI documentation)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RecommendedResource(BaseModel):
    rank: int = Field(description="1-based position in the delivery list")
    resource_id: str
    title: str
    score: float = Field(description="Inner product of learner and resource vectors")


class RecommendationList(BaseModel):
    learner_id: str
    items: list[RecommendedResource]
    model_version: str
    cold_start: bool = Field(False, description="True when a cold-start path produced the list")


class Health(BaseModel):
    status: str
    bundle_version: str | None = Field(description="Version of the loaded bundle, if any")


class ErrorBody(BaseModel):
    detail: str
