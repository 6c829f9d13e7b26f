"""One render function per RVL-CDIP class: ``fn(page, text) -> layout name``."""
from __future__ import annotations

from .correspondence import email, letter, memo
from .finance import budget, invoice
from .forms import form, questionnaire
from .science import scientific_publication, scientific_report, specification
from .text_heavy import news_article, resume
from .visual import advertisement, file_folder, handwritten, presentation

TEMPLATES = {
    "letter": letter,
    "form": form,
    "email": email,
    "handwritten": handwritten,
    "advertisement": advertisement,
    "scientific_report": scientific_report,
    "scientific_publication": scientific_publication,
    "specification": specification,
    "file_folder": file_folder,
    "news_article": news_article,
    "budget": budget,
    "invoice": invoice,
    "presentation": presentation,
    "questionnaire": questionnaire,
    "resume": resume,
    "memo": memo,
}
