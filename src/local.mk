# Modules of libturnpike, one fragment each (STYLE.md: src/<module>/).
include src/stun/local.mk
include src/conf/local.mk
include src/log/local.mk
include src/net/local.mk
include src/tls/local.mk
include src/auth/local.mk
include src/turn/local.mk
include src/ratelimit/local.mk
include src/store/local.mk
include src/shm/local.mk
include src/worker/local.mk
include src/master/local.mk
include src/turnpiked/local.mk
include src/ctl/local.mk
