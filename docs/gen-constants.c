#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* Prints docs/constants.md from the tables in proto/consts.c. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include "consts.h"

static const struct { const char *title, *what; } kinds[SBC_KIND_MAX] = {
	[SBC_AF] = { "Address families (`SBC_AF`)", "`family` parameters and the `family` of replies. `PF_x` is accepted wherever `AF_x` is." },
	[SBC_SOCK] = { "Socket types (`SBC_SOCK`)", "`type` parameters." },
	[SBC_SOCKFLAG] = { "Socket type flags (`SBC_SOCKFLAG`, a flag set)", "ORed into a socket type." },
	[SBC_SOL] = { "Option levels (`SBC_SOL`)", "`level` of `socket.setsockopt`/`getsockopt` and of ancillary data. Every `IPPROTO_*` name is a level, as Python users write `setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)`. Replies use `SOL_SOCKET` for 1, the `IPPROTO_*` name for an IP protocol's level (`IPPROTO_IP`, `IPPROTO_TCP`, `IPPROTO_IPV6`, `IPPROTO_RAW` rather than `SOL_IP`, `SOL_TCP`, `SOL_IPV6`, `SOL_RAW`), and `SOL_*` for the rest. `IPPROTO_ICMP` is accepted and is 1, which is `SOL_SOCKET`; `IPPROTO_MPTCP` is 262, which as a level is `SOL_X25` (MPTCP's options are at `SOL_MPTCP`)." },
	[SBC_SO] = { "`SOL_SOCKET` options (`SBC_SO`)", "`option` at level `SOL_SOCKET`. The AF_VSOCK and J1939 options Python also spells `SO_*` live at other levels and are not here." },
	[SBC_IPPROTO] = { "Protocols (`SBC_IPPROTO`)", "`proto` parameters: `IPPROTO_*`, the CAN protocols and common `ETH_P_*` numbers (host order; AF_PACKET sockets take them in network order). Where numbers meet, the `IPPROTO_*` name is preferred (`CAN_RAW` is 1, which replies call `IPPROTO_ICMP`)." },
	[SBC_TCP] = { "`IPPROTO_TCP` options (`SBC_TCP`)", "`option` at level `IPPROTO_TCP` (`SOL_TCP`)." },
	[SBC_IP] = { "`IPPROTO_IP` options (`SBC_IP`)", "`option` at level `IPPROTO_IP` (`SOL_IP`), including the protocol-independent `MCAST_*` options, and, as the kernel headers spell them, the netfilter (`IPT_`, `ARPT_`, `EBT_`, `IP_VS_SO_SET_*`) and multicast-routing (`MRT_*`) options that policies govern ([privileged.md](privileged.md))." },
	[SBC_IPV6] = { "`IPPROTO_IPV6` options (`SBC_IPV6`)", "`option` at level `IPPROTO_IPV6` (`SOL_IPV6`), including the `MCAST_*` options, `IPV6_FLOWLABEL_MGR`, and the `IP6T_SO_SET_*` and `MRT6_*` options that policies govern ([privileged.md](privileged.md))." },
	[SBC_MSG] = { "Send and receive flags (`SBC_MSG`, a flag set)", "`flags` of `send*`/`recv*`, `msg_flags` of `recvmsg`." },
	[SBC_SHUT] = { "Shutdown (`SBC_SHUT`)", "`how` of `socket.shutdown`." },
	[SBC_AI] = { "getaddrinfo flags (`SBC_AI`, a flag set)", "`flags` of `net.getaddrinfo`." },
	[SBC_NI] = { "getnameinfo flags (`SBC_NI`, a flag set)", "`flags` of `net.getnameinfo`. `NI_MAXHOST` and `NI_MAXSERV` are sizes, not flags, and are not here." },
	[SBC_EAI] = { "getaddrinfo errors (`SBC_EAI`)", "`error.data.name` of code -32001, with glibc's negative numbers in `error.data.gai`." },
	[SBC_ERRNO] = { "errno (`SBC_ERRNO`)", "`error.data.name` of code -32000 and the `name` of `socket.connect_ex`. Preferred: `EAGAIN` over `EWOULDBLOCK`, `EOPNOTSUPP` over `ENOTSUP`, `EDEADLK` over `EDEADLOCK`." },
	[SBC_SCM] = { "Ancillary data types at `SOL_SOCKET` (`SBC_SCM`)", "`type` of `ancdata` entries whose level is `SOL_SOCKET`." },
	[SBC_HERR] = { "h_errno (`SBC_HERR`)", "`error.data.name` of code -32002." },
	[SBC_NETLINK] = { "`SOL_NETLINK` options (`SBC_NETLINK`)", "`option` at level `SOL_NETLINK`, as `<linux/netlink.h>` spells them (Python has no names for these)." },
	[SBC_TIPC] = { "TIPC address types and scopes (`SBC_TIPC`)", "`addr_type` and `scope` of AF_TIPC addresses. Types and scopes share numbers: an `addr_type` takes only a `TIPC_ADDR_*`/`TIPC_SERVICE_*`/`TIPC_SOCKET_ADDR` name, a `scope` only a `TIPC_*_SCOPE` name, and replies pick the name of the right sort (`TIPC_ADDR_NAMESEQ`, `TIPC_ADDR_NAME`, `TIPC_ADDR_ID`; `TIPC_ZONE_SCOPE`, `TIPC_CLUSTER_SCOPE`, `TIPC_NODE_SCOPE`)." },
};

int main(void)
{
	struct utsname u;

	uname(&u);
	printf("# Constants accepted by sockbroker\n\n");
	printf("<!-- Generated from the tables in proto/consts.c (Linux %s, glibc headers); "
	       "values are this platform's. Regenerate when the tables change. -->\n\n", u.machine);
	printf("Protocol section 3: a constant is given as its name (exactly as Python's `socket` module spells it; "
	       "case-sensitive) or as an integer. An integer needs no name: numbers this list lacks pass through "
	       "unchanged, and replies give the integer when no name is known.\n\n");
	printf("- **Preferred names.** Where several names share a value, replies use the first one listed "
	       "for that value (marked *preferred*); the others are accepted and marked *alias of*.\n");
	printf("- **Types.** A name is a JSON string, a number a JSON integer. Anything else (a fractional "
	       "or exponent number such as `2.0`, a boolean, `null`, an object) is refused (-32602). A single "
	       "constant must fit in a C `int`.\n");
	printf("- **Flag sets** (`MSG_*`, `AI_*`, `NI_*`, `SOCK_NONBLOCK`/`SOCK_CLOEXEC`) are an array of "
	       "names and integers, ORed together, or one name, or one integer (any 64-bit signed value). "
	       "Replies give an array of the preferred names, lowest bit first, when every set bit has a "
	       "single-bit name, else the integer; no flags is `[]`.\n");
	printf("- **Missing names.** A name the build host's headers lack is absent. `SO_PASSPIDFD`, "
	       "`SO_PEERPIDFD`, `SCM_PIDFD` and `SCM_SECURITY` are supplied with the kernel's numbers when "
	       "the headers are older.\n\n");
	for (int k = 0; k < SBC_KIND_MAX; k++) {
		size_t n;
		const struct sbc_entry *t = sbc_table(k, &n);

		printf("## %s\n\n%s\n\n| name | value | |\n|---|---:|---|\n", kinds[k].title, kinds[k].what);
		for (size_t i = 0; i < n; i++) {
			const char *pref = sbc_name(k, t[i].value);
			char note[96] = "";

			if (k == SBC_TIPC) {
				/* preferred within its sort */
				size_t m;
				int scope = strstr(t[i].name, "_SCOPE") != NULL;
				const char *first = NULL;
				for (m = 0; m < n; m++)
					if (t[m].value == t[i].value && (strstr(t[m].name, "_SCOPE") != NULL) == scope) {
						first = t[m].name;
						break;
					}
				pref = first;
			}
			if (strcmp(pref, t[i].name) != 0)
				snprintf(note, sizeof(note), "alias of `%s`", pref);
			else {
				for (size_t m = 0; m < n; m++)
					if (m != i && t[m].value == t[i].value &&
					    (k != SBC_TIPC || (strstr(t[m].name, "_SCOPE") != NULL) == (strstr(t[i].name, "_SCOPE") != NULL)))
						snprintf(note, sizeof(note), "preferred");
			}
			if (t[i].value >= 256 && (k == SBC_MSG || k == SBC_AI || k == SBC_SOCKFLAG))
				printf("| `%s` | 0x%lx | %s |\n", t[i].name, t[i].value, note);
			else
				printf("| `%s` | %ld | %s |\n", t[i].name, t[i].value, note);
		}
		printf("\n");
	}
	return 0;
}
