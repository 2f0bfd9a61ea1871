from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the questionnaire's own fields are checked by services.answers."""
