/*
 * Steering new UDP clients to the current generation's listeners with an
 * SK_REUSEPORT program (DESIGN.md sections 2 and 7), loaded with the raw
 * bpf() system call.
 *
 * Without a program the kernel picks a socket of the reuseport group by
 * hash, and the group also holds what the workers never read as
 * listeners: before Linux 6.13 every connected per-allocation socket,
 * which the pick walks past to the next listener (so one listener takes
 * most new clients once allocations outnumber listeners), and, for a
 * moment after a reload, the old generation's listeners. The program
 * picks by the same hash but only among the sockets the master put in
 * its map: exactly the listeners of the current generation.
 *
 * One map of sockets holds NET_STEER_GROUPS rows of NET_STEER_WIDTH
 * entries, row g for the g-th UDP listen address; a second map holds each
 * row's count; program g reads row g. Everything is made at start, while
 * the master may still use bpf(). Filling the maps and attaching a
 * program to a group need only the descriptors from Linux 5.19 on; before
 * that a kernel with unprivileged bpf() disabled refuses every bpf()
 * command without CAP_BPF, which the master then keeps for reloads
 * (net_steer_probe tells; master/listeners.c).
 */
#include "config.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "turnpike/net.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

/* Instructions of one program (build_program writes 23). */
#define PROGRAM_LENGTH 24

struct net_steer {
	int sockets_fd; /* BPF_MAP_TYPE_REUSEPORT_SOCKARRAY */
	int counts_fd;  /* BPF_MAP_TYPE_ARRAY, one u32 per group */
	int programs[NET_STEER_GROUPS];
};

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long fd = syscall(__NR_bpf, cmd, attr, sizeof(*attr));

	return fd < 0 ? -errno : (int)fd;
}

static int map_create(uint32_t type, uint32_t value_size, uint32_t entries,
                      int *fd)
{
	union bpf_attr attr;
	int ret;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = sizeof(uint32_t);
	attr.value_size = value_size;
	attr.max_entries = entries;
	ret = sys_bpf(BPF_MAP_CREATE, &attr);
	if (ret < 0)
		return -ret;
	*fd = ret;
	return 0;
}

static int map_update(int map_fd, uint32_t key, const void *value)
{
	union bpf_attr attr;
	int ret;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = (uint64_t)(uintptr_t)&key;
	attr.value = (uint64_t)(uintptr_t)value;
	attr.flags = BPF_ANY;
	ret = sys_bpf(BPF_MAP_UPDATE_ELEM, &attr);
	return ret < 0 ? -ret : 0;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
                            int32_t imm)
{
	struct bpf_insn i = {.code = code, .off = off, .imm = imm};

	i.dst_reg = dst & 0xf;
	i.src_reg = src & 0xf;
	return i;
}

/* Two instructions: dst = the map behind map_fd. */
static size_t load_map(struct bpf_insn *p, uint8_t dst, int map_fd)
{
	p[0] =
	    insn(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, map_fd);
	p[1] = insn(0, 0, 0, 0, 0);
	return 2;
}

/*
 * key = counts[group] ? group * NET_STEER_WIDTH + hash % counts[group]
 * and select sockets[key]; SK_PASS in any case, so that a failed
 * selection (an empty entry, a socket of another group) leaves the
 * choice to the kernel's hash instead of dropping the datagram.
 */
static size_t build_program(const struct net_steer *steer, unsigned group,
                            struct bpf_insn *p)
{
	size_t n = 0;

	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	p[n++] =
	    insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, (int32_t)group);
	n += load_map(p + n, BPF_REG_1, steer->counts_fd);
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	p[n++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4);
	p[n++] = insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	p[n++] = insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 13, 0);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_0, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_3, 0, 11, 0);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_6,
	              offsetof(struct sk_reuseport_md, hash), 0);
	p[n++] = insn(BPF_ALU | BPF_MOD | BPF_X, BPF_REG_4, BPF_REG_3, 0, 0);
	p[n++] = insn(BPF_ALU | BPF_ADD | BPF_K, BPF_REG_4, 0, 0,
	              (int32_t)(group * NET_STEER_WIDTH));
	p[n++] = insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_4, -8, 0);
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0);
	n += load_map(p + n, BPF_REG_2, steer->sockets_fd);
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
	p[n++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, -8);
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
	p[n++] =
	    insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_select_reuseport);
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SK_PASS);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return n;
}

static int load_program(const struct net_steer *steer, unsigned group, int *fd)
{
	struct bpf_insn program[PROGRAM_LENGTH];
	union bpf_attr attr;
	size_t length = build_program(steer, group, program);
	int ret;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
	attr.insns = (uint64_t)(uintptr_t)program;
	attr.insn_cnt = (uint32_t)length;
	attr.license = (uint64_t)(uintptr_t) "MIT";
	ret = sys_bpf(BPF_PROG_LOAD, &attr);
	if (ret < 0)
		return -ret;
	*fd = ret;
	return 0;
}

int net_steer_open(struct net_steer **out)
{
	struct net_steer *steer = calloc(1, sizeof(*steer));
	unsigned g;
	int err;

	if (steer == NULL)
		return ENOMEM;
	steer->sockets_fd = steer->counts_fd = -1;
	for (g = 0; g < NET_STEER_GROUPS; g++)
		steer->programs[g] = -1;
	err =
	    map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, sizeof(uint32_t),
	               NET_STEER_GROUPS * NET_STEER_WIDTH, &steer->sockets_fd);
	if (err == 0)
		err = map_create(BPF_MAP_TYPE_ARRAY, sizeof(uint32_t),
		                 NET_STEER_GROUPS, &steer->counts_fd);
	for (g = 0; err == 0 && g < NET_STEER_GROUPS; g++)
		err = load_program(steer, g, &steer->programs[g]);
	if (err != 0) {
		net_steer_close(steer);
		return err;
	}
	*out = steer;
	return 0;
}

int net_steer_set(struct net_steer *steer, unsigned group, const int *fds,
                  size_t count)
{
	uint32_t i, n = (uint32_t)count, zero = 0;
	int err;

	if (group >= NET_STEER_GROUPS || count == 0 || count > NET_STEER_WIDTH)
		return EINVAL;
	/* Stop selecting from the row while it is rewritten: the kernel's
	 * hash decides meanwhile. */
	if ((err = map_update(steer->counts_fd, group, &zero)) != 0)
		return err;
	for (i = 0; i < n; i++) {
		uint32_t fd = (uint32_t)fds[i];

		err = map_update(steer->sockets_fd, group * NET_STEER_WIDTH + i,
		                 &fd);
		if (err != 0)
			return err;
	}
	if ((err = map_update(steer->counts_fd, group, &n)) != 0)
		return err;
	/* The program belongs to the group, not to the socket: attaching
	 * through one member steers them all. */
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF,
	               &steer->programs[group], sizeof(int)) != 0)
		return errno;
	return 0;
}

int net_steer_probe(const struct net_steer *steer)
{
	union bpf_attr attr;
	uint32_t key = 0, value;
	int ret;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)steer->counts_fd;
	attr.key = (uint64_t)(uintptr_t)&key;
	attr.value = (uint64_t)(uintptr_t)&value;
	ret = sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
	return ret < 0 ? -ret : 0;
}

void net_steer_close(struct net_steer *steer)
{
	unsigned g;

	if (steer == NULL)
		return;
	for (g = 0; g < NET_STEER_GROUPS; g++)
		if (steer->programs[g] >= 0)
			close(steer->programs[g]);
	if (steer->sockets_fd >= 0)
		close(steer->sockets_fd);
	if (steer->counts_fd >= 0)
		close(steer->counts_fd);
	free(steer);
}
