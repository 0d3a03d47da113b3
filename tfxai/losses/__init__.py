"""Losses: LGL, SML, LGL-INR and PC loss with logit constraints (`keras.losses.Loss`)."""
