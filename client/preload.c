/* libsockbroker-preload.so: a preload shim that lets an unmodified program
 * get, through sockbrokerd and under the daemon's policy, the sockets its
 * sandbox or its privilege do not give it (issue 16 part 2; docs/launcher.md,
 * "The preload shim"; sockbroker-preload(8)).
 *
 *   bind()         preload-bind.c: an address the kernel refuses the program
 *   connect()      preload-connect.c: with SOCKBROKER_CONNECT=1, every
 *                  AF_INET/AF_INET6 connect goes through the daemon
 *   getaddrinfo()  preload-resolve.c: with SOCKBROKER_CONNECT=1, names are
 *                  looked up by the daemon, for its host-pinned rules
 *   socket()       preload-socket.c: a kind the kernel refuses the program
 *
 * This file finds the C library's calls and reads the environment, once,
 * before main. The rules every part keeps are in preload.h. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "sockbroker.h" /* SB_DEFAULT_SOCKET only: the library is not linked */

int (*real_bind)(int, const struct sockaddr *, socklen_t);
int (*real_connect)(int, const struct sockaddr *, socklen_t);
int (*real_socket)(int, int, int);
int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
void (*real_freeaddrinfo)(struct addrinfo *);

bool shim_connect_through;
char shim_control_path[108];
bool shim_control_path_ok;

/* LD_PRELOAD without the shim's own entries (by file name: the shim may be
 * named by a path or by its bare name): a program's children do not inherit
 * the shim unless SOCKBROKER_PRELOAD_INHERIT=1 says so. Done before main,
 * while no other thread can read the environment. */
static void drop_from_ld_preload(void)
{
	static const char me[] = "libsockbroker-preload.so";
	const char *v = getenv("LD_PRELOAD");
	char *out;
	size_t o = 0;

	if (!v || !strstr(v, me))
		return;
	out = malloc(strlen(v) + 1);
	if (!out)
		return;
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ": \t");
		const char *base = p;

		for (const char *q = p; q < p + n; q++)
			if (*q == '/')
				base = q + 1;
		if (n && !((size_t)(p + n - base) == sizeof(me) - 1 && !memcmp(base, me, sizeof(me) - 1))) {
			if (o)
				out[o++] = ':';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		if (*p)
			p++;
	}
	out[o] = '\0';
	if (o)
		setenv("LD_PRELOAD", out, 1);
	else
		unsetenv("LD_PRELOAD");
	free(out);
}

static bool env_is_1(const char *name)
{
	const char *v = getenv(name);
	return v && !strcmp(v, "1");
}

__attribute__((constructor)) static void preload_init(void)
{
	const char *p = getenv("SOCKBROKER_SOCKET");
	size_t n;

	real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
	real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	real_getaddrinfo = (int (*)(const char *, const char *, const struct addrinfo *,
				    struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
	real_freeaddrinfo = (void (*)(struct addrinfo *))dlsym(RTLD_NEXT, "freeaddrinfo");
	if (!p || !*p)
		p = SB_DEFAULT_SOCKET;
	n = strlen(p);
	if (n < sizeof(shim_control_path)) {
		memcpy(shim_control_path, p, n + 1);
		shim_control_path_ok = true;
	}
	shim_connect_through = env_is_1("SOCKBROKER_CONNECT");
	if (!env_is_1("SOCKBROKER_PRELOAD_INHERIT"))
		drop_from_ld_preload();
}

/* Before the constructor ran (another library's constructor calling), the
 * system call itself, which is what the C library's call is. */
int sys_socket(int domain, int type, int proto)
{
	return real_socket ? real_socket(domain, type, proto) : (int)syscall(SYS_socket, domain, type, proto);
}

int sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return real_connect ? real_connect(fd, addr, len) : (int)syscall(SYS_connect, fd, addr, len);
}

int sys_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return real_bind ? real_bind(fd, addr, len) : (int)syscall(SYS_bind, fd, addr, len);
}
