"""Indexes the standard reports need on tables declared elsewhere (migration e5c7a9d1b203).

Declared here, beside the reports that read through them, and imported by crm.schema so the
schema check sees them. Presentations are read by their time in the agent assessment, the
marketing detail and the campaign resources: without this index a one-day report scans every
presentation ever made.
"""

from __future__ import annotations

from sqlalchemy import Index

from crm.models import OfferPresentation

PRESENTATIONS_BY_TIME = Index("ix_offer_presentations_presented_at", OfferPresentation.presented_at)
