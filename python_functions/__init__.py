"""Supabase backend of four AI-assisted apps: Postgres rules plus a small AI/OCR service."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
