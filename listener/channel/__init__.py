"""The Twilio channel: the webhook app (`app.create_app`), its routes, form and signature
checks, media download, and the sender of replies. Nothing is imported here, so the
processing modules can use media and sender without building the web app.
"""
