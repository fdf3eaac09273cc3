"""The AI edge: the OpenAI-compatible chat provider (`providers`) and OCR (`ocr`)."""
