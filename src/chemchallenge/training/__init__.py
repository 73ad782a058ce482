"""Training plumbing shared by the predictive nets (:mod:`chemchallenge.models`) and the
generation VAE (:mod:`chemchallenge.generation`): data (:mod:`.data`) and Trainer
(:mod:`.trainer`)."""
