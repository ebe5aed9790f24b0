dist_man_MANS += man/turnpike.conf.5 man/turnpiked.8 man/turnpikectl.8 man/turnpike-bench.1
