dist_man_MANS += man/turnpike.conf.5 man/turnpiked.8
