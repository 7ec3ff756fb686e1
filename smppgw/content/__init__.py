"""Pure content compliance: keyword rules over folded message text.  Imports nothing but the stdlib."""

from .rules import Action, Category, ContentRules, ContentRulesError, Hit, Rule, Verdict

__all__ = ["Action", "Category", "ContentRules", "ContentRulesError", "Hit", "Rule", "Verdict"]
