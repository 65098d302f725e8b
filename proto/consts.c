#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
/* Name <-> number tables for the protocol's constants (see consts.h). The
 * tables below list each kind in the order replies prefer: where several names
 * share a value, the first one listed is the name a reply uses. Every value
 * comes from the system headers; a name this platform's headers lack is left
 * out (#ifdef), except the few new ABI numbers defined just below. Lookups use
 * two sorted indexes built once (pthread_once) and binary search. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* EAI_ADDRFAMILY, EAI_NODATA, AI_IDN, MSG_MORE, ... */
#endif

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <linux/if_ether.h>
#include <linux/can.h>
#include <linux/tipc.h>
/* the options the daemon governs as privileged (docs/privileged.md) */
#include <linux/in6.h>
#include <linux/ip_vs.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#include <linux/netfilter_arp/arp_tables.h>
#include <linux/netfilter_bridge/ebtables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netlink.h>

#include "consts.h"
#include "util.h"

/* Numbers newer than some kernel headers still in use. SCM_SECURITY and
 * SCM_PIDFD are the same on every architecture (SCM_SECURITY lives in the
 * kernel's internal include/linux/socket.h and is never exported); the SO_
 * numbers are asm-generic's, so they are only supplied where the architecture
 * uses asm-generic's SO_ numbering. */
#ifndef SCM_SECURITY
#define SCM_SECURITY 0x03
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
#if !defined(__alpha__) && !defined(__mips__) && !defined(__hppa__) && !defined(__sparc__)
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#endif
/* <linux/can/raw.h>, isotp.h and j1939.h define these from SOL_CAN_BASE and
 * the protocol number; they are spelled out here so that the three headers
 * (which pull in more than this file needs) are not required. */
#ifndef TCP_AO_REPAIR
#define TCP_AO_REPAIR 42   /* <linux/tcp.h>, which <netinet/tcp.h> excludes */
#endif
#if defined(SOL_CAN_BASE) && defined(CAN_RAW) && !defined(SOL_CAN_RAW)
#define SOL_CAN_RAW (SOL_CAN_BASE + CAN_RAW)
#endif
#if defined(SOL_CAN_BASE) && defined(CAN_ISOTP) && !defined(SOL_CAN_ISOTP)
#define SOL_CAN_ISOTP (SOL_CAN_BASE + CAN_ISOTP)
#endif
#if defined(SOL_CAN_BASE) && defined(CAN_J1939) && !defined(SOL_CAN_J1939)
#define SOL_CAN_J1939 (SOL_CAN_BASE + CAN_J1939)
#endif

#define E(n) { #n, (long)(n) }

static const struct sbc_entry af_table[] = {
	E(AF_UNSPEC),
	E(AF_UNIX),
#ifdef AF_LOCAL
	E(AF_LOCAL),
#endif
#ifdef AF_FILE
	E(AF_FILE),
#endif
	E(AF_INET),
#ifdef AF_AX25
	E(AF_AX25),
#endif
#ifdef AF_IPX
	E(AF_IPX),
#endif
#ifdef AF_APPLETALK
	E(AF_APPLETALK),
#endif
#ifdef AF_NETROM
	E(AF_NETROM),
#endif
#ifdef AF_BRIDGE
	E(AF_BRIDGE),
#endif
#ifdef AF_ATMPVC
	E(AF_ATMPVC),
#endif
#ifdef AF_X25
	E(AF_X25),
#endif
	E(AF_INET6),
#ifdef AF_ROSE
	E(AF_ROSE),
#endif
#ifdef AF_DECnet
	E(AF_DECnet),
#endif
#ifdef AF_NETBEUI
	E(AF_NETBEUI),
#endif
#ifdef AF_SECURITY
	E(AF_SECURITY),
#endif
#ifdef AF_KEY
	E(AF_KEY),
#endif
#ifdef AF_NETLINK
	E(AF_NETLINK),
#endif
#ifdef AF_ROUTE
	E(AF_ROUTE),
#endif
#ifdef AF_PACKET
	E(AF_PACKET),
#endif
#ifdef AF_ASH
	E(AF_ASH),
#endif
#ifdef AF_ECONET
	E(AF_ECONET),
#endif
#ifdef AF_ATMSVC
	E(AF_ATMSVC),
#endif
#ifdef AF_RDS
	E(AF_RDS),
#endif
#ifdef AF_SNA
	E(AF_SNA),
#endif
#ifdef AF_IRDA
	E(AF_IRDA),
#endif
#ifdef AF_PPPOX
	E(AF_PPPOX),
#endif
#ifdef AF_WANPIPE
	E(AF_WANPIPE),
#endif
#ifdef AF_LLC
	E(AF_LLC),
#endif
#ifdef AF_IB
	E(AF_IB),
#endif
#ifdef AF_MPLS
	E(AF_MPLS),
#endif
#ifdef AF_CAN
	E(AF_CAN),
#endif
#ifdef AF_TIPC
	E(AF_TIPC),
#endif
#ifdef AF_BLUETOOTH
	E(AF_BLUETOOTH),
#endif
#ifdef AF_IUCV
	E(AF_IUCV),
#endif
#ifdef AF_RXRPC
	E(AF_RXRPC),
#endif
#ifdef AF_ISDN
	E(AF_ISDN),
#endif
#ifdef AF_PHONET
	E(AF_PHONET),
#endif
#ifdef AF_IEEE802154
	E(AF_IEEE802154),
#endif
#ifdef AF_CAIF
	E(AF_CAIF),
#endif
#ifdef AF_ALG
	E(AF_ALG),
#endif
#ifdef AF_NFC
	E(AF_NFC),
#endif
#ifdef AF_VSOCK
	E(AF_VSOCK),
#endif
#ifdef AF_KCM
	E(AF_KCM),
#endif
#ifdef AF_QIPCRTR
	E(AF_QIPCRTR),
#endif
#ifdef AF_SMC
	E(AF_SMC),
#endif
#ifdef AF_XDP
	E(AF_XDP),
#endif
#ifdef AF_MCTP
	E(AF_MCTP),
#endif
};

static const struct sbc_entry sock_table[] = {
	E(SOCK_STREAM),
	E(SOCK_DGRAM),
	E(SOCK_RAW),
#ifdef SOCK_RDM
	E(SOCK_RDM),
#endif
	E(SOCK_SEQPACKET),
#ifdef SOCK_DCCP
	E(SOCK_DCCP),
#endif
#ifdef SOCK_PACKET
	E(SOCK_PACKET),
#endif
};

static const struct sbc_entry sockflag_table[] = {
#ifdef SOCK_NONBLOCK
	E(SOCK_NONBLOCK),
#endif
#ifdef SOCK_CLOEXEC
	E(SOCK_CLOEXEC),
#endif
};

static const struct sbc_entry ipproto_table[] = {
	E(IPPROTO_IP),
	E(IPPROTO_ICMP),
#ifdef IPPROTO_IGMP
	E(IPPROTO_IGMP),
#endif
#ifdef IPPROTO_IPIP
	E(IPPROTO_IPIP),
#endif
	E(IPPROTO_TCP),
#ifdef IPPROTO_EGP
	E(IPPROTO_EGP),
#endif
#ifdef IPPROTO_PUP
	E(IPPROTO_PUP),
#endif
	E(IPPROTO_UDP),
#ifdef IPPROTO_IDP
	E(IPPROTO_IDP),
#endif
#ifdef IPPROTO_TP
	E(IPPROTO_TP),
#endif
#ifdef IPPROTO_DCCP
	E(IPPROTO_DCCP),
#endif
	E(IPPROTO_IPV6),
#ifdef IPPROTO_RSVP
	E(IPPROTO_RSVP),
#endif
#ifdef IPPROTO_GRE
	E(IPPROTO_GRE),
#endif
#ifdef IPPROTO_ESP
	E(IPPROTO_ESP),
#endif
#ifdef IPPROTO_AH
	E(IPPROTO_AH),
#endif
#ifdef IPPROTO_MTP
	E(IPPROTO_MTP),
#endif
#ifdef IPPROTO_BEETPH
	E(IPPROTO_BEETPH),
#endif
#ifdef IPPROTO_ENCAP
	E(IPPROTO_ENCAP),
#endif
#ifdef IPPROTO_PIM
	E(IPPROTO_PIM),
#endif
#ifdef IPPROTO_COMP
	E(IPPROTO_COMP),
#endif
#ifdef IPPROTO_L2TP
	E(IPPROTO_L2TP),
#endif
#ifdef IPPROTO_SCTP
	E(IPPROTO_SCTP),
#endif
#ifdef IPPROTO_UDPLITE
	E(IPPROTO_UDPLITE),
#endif
#ifdef IPPROTO_MPLS
	E(IPPROTO_MPLS),
#endif
#ifdef IPPROTO_ETHERNET
	E(IPPROTO_ETHERNET),
#endif
	E(IPPROTO_RAW),
#ifdef IPPROTO_MPTCP
	E(IPPROTO_MPTCP),
#endif
#ifdef IPPROTO_HOPOPTS
	E(IPPROTO_HOPOPTS),
#endif
#ifdef IPPROTO_ROUTING
	E(IPPROTO_ROUTING),
#endif
#ifdef IPPROTO_FRAGMENT
	E(IPPROTO_FRAGMENT),
#endif
#ifdef IPPROTO_ICMPV6
	E(IPPROTO_ICMPV6),
#endif
#ifdef IPPROTO_NONE
	E(IPPROTO_NONE),
#endif
#ifdef IPPROTO_DSTOPTS
	E(IPPROTO_DSTOPTS),
#endif
#ifdef IPPROTO_MH
	E(IPPROTO_MH),
#endif
#ifdef CAN_RAW
	E(CAN_RAW),
#endif
#ifdef CAN_BCM
	E(CAN_BCM),
#endif
#ifdef CAN_ISOTP
	E(CAN_ISOTP),
#endif
#ifdef CAN_J1939
	E(CAN_J1939),
#endif
#ifdef ETH_P_ALL
	E(ETH_P_ALL),
#endif
#ifdef ETH_P_LOOP
	E(ETH_P_LOOP),
#endif
#ifdef ETH_P_802_3
	E(ETH_P_802_3),
#endif
#ifdef ETH_P_802_2
	E(ETH_P_802_2),
#endif
#ifdef ETH_P_IP
	E(ETH_P_IP),
#endif
#ifdef ETH_P_ARP
	E(ETH_P_ARP),
#endif
#ifdef ETH_P_RARP
	E(ETH_P_RARP),
#endif
#ifdef ETH_P_8021Q
	E(ETH_P_8021Q),
#endif
#ifdef ETH_P_8021AD
	E(ETH_P_8021AD),
#endif
#ifdef ETH_P_IPV6
	E(ETH_P_IPV6),
#endif
#ifdef ETH_P_PAE
	E(ETH_P_PAE),
#endif
#ifdef ETH_P_LLDP
	E(ETH_P_LLDP),
#endif
#ifdef ETH_P_SLOW
	E(ETH_P_SLOW),
#endif
#ifdef ETH_P_MPLS_UC
	E(ETH_P_MPLS_UC),
#endif
#ifdef ETH_P_MPLS_MC
	E(ETH_P_MPLS_MC),
#endif
#ifdef ETH_P_PPP_DISC
	E(ETH_P_PPP_DISC),
#endif
#ifdef ETH_P_PPP_SES
	E(ETH_P_PPP_SES),
#endif
#ifdef ETH_P_1588
	E(ETH_P_1588),
#endif
#ifdef ETH_P_TIPC
	E(ETH_P_TIPC),
#endif
#ifdef ETH_P_CAN
	E(ETH_P_CAN),
#endif
#ifdef ETH_P_CANFD
	E(ETH_P_CANFD),
#endif
#ifdef ETH_P_CANXL
	E(ETH_P_CANXL),
#endif
#ifdef ETH_P_IEEE802154
	E(ETH_P_IEEE802154),
#endif
#ifdef ETH_P_MCTP
	E(ETH_P_MCTP),
#endif
};

static const struct sbc_entry sol_table[] = {
	E(SOL_SOCKET),
	E(IPPROTO_IP),
	E(IPPROTO_ICMP),
#ifdef IPPROTO_IGMP
	E(IPPROTO_IGMP),
#endif
#ifdef IPPROTO_IPIP
	E(IPPROTO_IPIP),
#endif
	E(IPPROTO_TCP),
#ifdef IPPROTO_EGP
	E(IPPROTO_EGP),
#endif
#ifdef IPPROTO_PUP
	E(IPPROTO_PUP),
#endif
	E(IPPROTO_UDP),
#ifdef IPPROTO_IDP
	E(IPPROTO_IDP),
#endif
#ifdef IPPROTO_TP
	E(IPPROTO_TP),
#endif
#ifdef IPPROTO_DCCP
	E(IPPROTO_DCCP),
#endif
	E(IPPROTO_IPV6),
#ifdef IPPROTO_RSVP
	E(IPPROTO_RSVP),
#endif
#ifdef IPPROTO_GRE
	E(IPPROTO_GRE),
#endif
#ifdef IPPROTO_ESP
	E(IPPROTO_ESP),
#endif
#ifdef IPPROTO_AH
	E(IPPROTO_AH),
#endif
#ifdef IPPROTO_MTP
	E(IPPROTO_MTP),
#endif
#ifdef IPPROTO_BEETPH
	E(IPPROTO_BEETPH),
#endif
#ifdef IPPROTO_ENCAP
	E(IPPROTO_ENCAP),
#endif
#ifdef IPPROTO_PIM
	E(IPPROTO_PIM),
#endif
#ifdef IPPROTO_COMP
	E(IPPROTO_COMP),
#endif
#ifdef IPPROTO_L2TP
	E(IPPROTO_L2TP),
#endif
#ifdef IPPROTO_SCTP
	E(IPPROTO_SCTP),
#endif
#ifdef IPPROTO_UDPLITE
	E(IPPROTO_UDPLITE),
#endif
#ifdef IPPROTO_MPLS
	E(IPPROTO_MPLS),
#endif
#ifdef IPPROTO_ETHERNET
	E(IPPROTO_ETHERNET),
#endif
	E(IPPROTO_RAW),
#ifdef IPPROTO_HOPOPTS
	E(IPPROTO_HOPOPTS),
#endif
#ifdef IPPROTO_ROUTING
	E(IPPROTO_ROUTING),
#endif
#ifdef IPPROTO_FRAGMENT
	E(IPPROTO_FRAGMENT),
#endif
#ifdef IPPROTO_ICMPV6
	E(IPPROTO_ICMPV6),
#endif
#ifdef IPPROTO_NONE
	E(IPPROTO_NONE),
#endif
#ifdef IPPROTO_DSTOPTS
	E(IPPROTO_DSTOPTS),
#endif
#ifdef IPPROTO_MH
	E(IPPROTO_MH),
#endif
#ifdef SOL_IP
	E(SOL_IP),
#endif
#ifdef SOL_TCP
	E(SOL_TCP),
#endif
#ifdef SOL_UDP
	E(SOL_UDP),
#endif
#ifdef SOL_IPV6
	E(SOL_IPV6),
#endif
#ifdef SOL_ICMPV6
	E(SOL_ICMPV6),
#endif
#ifdef SOL_RAW
	E(SOL_RAW),
#endif
#ifdef SOL_UDPLITE
	E(SOL_UDPLITE),
#endif
#ifdef SOL_CAN_BASE
	E(SOL_CAN_BASE),
#endif
#ifdef SOL_CAN_RAW
	E(SOL_CAN_RAW),
#endif
#ifdef SOL_CAN_ISOTP
	E(SOL_CAN_ISOTP),
#endif
#ifdef SOL_CAN_J1939
	E(SOL_CAN_J1939),
#endif
#ifdef SOL_DECNET
	E(SOL_DECNET),
#endif
#ifdef SOL_X25
	E(SOL_X25),
#endif
#ifdef SOL_PACKET
	E(SOL_PACKET),
#endif
#ifdef SOL_ATM
	E(SOL_ATM),
#endif
#ifdef SOL_AAL
	E(SOL_AAL),
#endif
#ifdef SOL_IRDA
	E(SOL_IRDA),
#endif
#ifdef SOL_NETBEUI
	E(SOL_NETBEUI),
#endif
#ifdef SOL_LLC
	E(SOL_LLC),
#endif
#ifdef SOL_DCCP
	E(SOL_DCCP),
#endif
#ifdef SOL_NETLINK
	E(SOL_NETLINK),
#endif
#ifdef SOL_TIPC
	E(SOL_TIPC),
#endif
#ifdef SOL_RXRPC
	E(SOL_RXRPC),
#endif
#ifdef SOL_PPPOL2TP
	E(SOL_PPPOL2TP),
#endif
#ifdef SOL_BLUETOOTH
	E(SOL_BLUETOOTH),
#endif
#ifdef SOL_PNPIPE
	E(SOL_PNPIPE),
#endif
#ifdef SOL_RDS
	E(SOL_RDS),
#endif
#ifdef SOL_IUCV
	E(SOL_IUCV),
#endif
#ifdef SOL_CAIF
	E(SOL_CAIF),
#endif
#ifdef SOL_ALG
	E(SOL_ALG),
#endif
#ifdef SOL_NFC
	E(SOL_NFC),
#endif
#ifdef SOL_KCM
	E(SOL_KCM),
#endif
#ifdef SOL_TLS
	E(SOL_TLS),
#endif
#ifdef SOL_XDP
	E(SOL_XDP),
#endif
#ifdef SOL_MPTCP
	E(SOL_MPTCP),
#endif
#ifdef SOL_MCTP
	E(SOL_MCTP),
#endif
#ifdef SOL_SMC
	E(SOL_SMC),
#endif
#ifdef IPPROTO_MPTCP
	E(IPPROTO_MPTCP),
#endif
};

static const struct sbc_entry so_table[] = {
	E(SO_DEBUG),
	E(SO_REUSEADDR),
	E(SO_TYPE),
	E(SO_ERROR),
	E(SO_DONTROUTE),
	E(SO_BROADCAST),
	E(SO_SNDBUF),
	E(SO_RCVBUF),
	E(SO_KEEPALIVE),
	E(SO_OOBINLINE),
#ifdef SO_NO_CHECK
	E(SO_NO_CHECK),
#endif
#ifdef SO_PRIORITY
	E(SO_PRIORITY),
#endif
	E(SO_LINGER),
#ifdef SO_BSDCOMPAT
	E(SO_BSDCOMPAT),
#endif
#ifdef SO_REUSEPORT
	E(SO_REUSEPORT),
#endif
#ifdef SO_PASSCRED
	E(SO_PASSCRED),
#endif
#ifdef SO_PEERCRED
	E(SO_PEERCRED),
#endif
	E(SO_RCVLOWAT),
	E(SO_SNDLOWAT),
	E(SO_RCVTIMEO),
#ifdef SO_RCVTIMEO_OLD
	E(SO_RCVTIMEO_OLD),
#endif
	E(SO_SNDTIMEO),
#ifdef SO_SNDTIMEO_OLD
	E(SO_SNDTIMEO_OLD),
#endif
#ifdef SO_SECURITY_AUTHENTICATION
	E(SO_SECURITY_AUTHENTICATION),
#endif
#ifdef SO_SECURITY_ENCRYPTION_TRANSPORT
	E(SO_SECURITY_ENCRYPTION_TRANSPORT),
#endif
#ifdef SO_SECURITY_ENCRYPTION_NETWORK
	E(SO_SECURITY_ENCRYPTION_NETWORK),
#endif
#ifdef SO_BINDTODEVICE
	E(SO_BINDTODEVICE),
#endif
#ifdef SO_ATTACH_FILTER
	E(SO_ATTACH_FILTER),
#endif
#ifdef SO_GET_FILTER
	E(SO_GET_FILTER),
#endif
#ifdef SO_DETACH_FILTER
	E(SO_DETACH_FILTER),
#endif
#ifdef SO_DETACH_BPF
	E(SO_DETACH_BPF),
#endif
#ifdef SO_PEERNAME
	E(SO_PEERNAME),
#endif
#ifdef SO_TIMESTAMP
	E(SO_TIMESTAMP),
#endif
#ifdef SO_TIMESTAMP_OLD
	E(SO_TIMESTAMP_OLD),
#endif
	E(SO_ACCEPTCONN),
#ifdef SO_PEERSEC
	E(SO_PEERSEC),
#endif
#ifdef SO_SNDBUFFORCE
	E(SO_SNDBUFFORCE),
#endif
#ifdef SO_RCVBUFFORCE
	E(SO_RCVBUFFORCE),
#endif
#ifdef SO_PASSSEC
	E(SO_PASSSEC),
#endif
#ifdef SO_TIMESTAMPNS
	E(SO_TIMESTAMPNS),
#endif
#ifdef SO_TIMESTAMPNS_OLD
	E(SO_TIMESTAMPNS_OLD),
#endif
#ifdef SO_MARK
	E(SO_MARK),
#endif
#ifdef SO_TIMESTAMPING
	E(SO_TIMESTAMPING),
#endif
#ifdef SO_TIMESTAMPING_OLD
	E(SO_TIMESTAMPING_OLD),
#endif
#ifdef SO_PROTOCOL
	E(SO_PROTOCOL),
#endif
#ifdef SO_DOMAIN
	E(SO_DOMAIN),
#endif
#ifdef SO_RXQ_OVFL
	E(SO_RXQ_OVFL),
#endif
#ifdef SO_WIFI_STATUS
	E(SO_WIFI_STATUS),
#endif
#ifdef SO_PEEK_OFF
	E(SO_PEEK_OFF),
#endif
#ifdef SO_NOFCS
	E(SO_NOFCS),
#endif
#ifdef SO_LOCK_FILTER
	E(SO_LOCK_FILTER),
#endif
#ifdef SO_SELECT_ERR_QUEUE
	E(SO_SELECT_ERR_QUEUE),
#endif
#ifdef SO_BUSY_POLL
	E(SO_BUSY_POLL),
#endif
#ifdef SO_MAX_PACING_RATE
	E(SO_MAX_PACING_RATE),
#endif
#ifdef SO_BPF_EXTENSIONS
	E(SO_BPF_EXTENSIONS),
#endif
#ifdef SO_INCOMING_CPU
	E(SO_INCOMING_CPU),
#endif
#ifdef SO_ATTACH_BPF
	E(SO_ATTACH_BPF),
#endif
#ifdef SO_ATTACH_REUSEPORT_CBPF
	E(SO_ATTACH_REUSEPORT_CBPF),
#endif
#ifdef SO_ATTACH_REUSEPORT_EBPF
	E(SO_ATTACH_REUSEPORT_EBPF),
#endif
#ifdef SO_CNX_ADVICE
	E(SO_CNX_ADVICE),
#endif
#ifdef SO_MEMINFO
	E(SO_MEMINFO),
#endif
#ifdef SO_INCOMING_NAPI_ID
	E(SO_INCOMING_NAPI_ID),
#endif
#ifdef SO_COOKIE
	E(SO_COOKIE),
#endif
#ifdef SO_PEERGROUPS
	E(SO_PEERGROUPS),
#endif
#ifdef SO_ZEROCOPY
	E(SO_ZEROCOPY),
#endif
#ifdef SO_TXTIME
	E(SO_TXTIME),
#endif
#ifdef SO_BINDTOIFINDEX
	E(SO_BINDTOIFINDEX),
#endif
#ifdef SO_TIMESTAMP_NEW
	E(SO_TIMESTAMP_NEW),
#endif
#ifdef SO_TIMESTAMPNS_NEW
	E(SO_TIMESTAMPNS_NEW),
#endif
#ifdef SO_TIMESTAMPING_NEW
	E(SO_TIMESTAMPING_NEW),
#endif
#ifdef SO_RCVTIMEO_NEW
	E(SO_RCVTIMEO_NEW),
#endif
#ifdef SO_SNDTIMEO_NEW
	E(SO_SNDTIMEO_NEW),
#endif
#ifdef SO_DETACH_REUSEPORT_BPF
	E(SO_DETACH_REUSEPORT_BPF),
#endif
#ifdef SO_PREFER_BUSY_POLL
	E(SO_PREFER_BUSY_POLL),
#endif
#ifdef SO_BUSY_POLL_BUDGET
	E(SO_BUSY_POLL_BUDGET),
#endif
#ifdef SO_NETNS_COOKIE
	E(SO_NETNS_COOKIE),
#endif
#ifdef SO_BUF_LOCK
	E(SO_BUF_LOCK),
#endif
#ifdef SO_RESERVE_MEM
	E(SO_RESERVE_MEM),
#endif
#ifdef SO_TXREHASH
	E(SO_TXREHASH),
#endif
#ifdef SO_RCVMARK
	E(SO_RCVMARK),
#endif
#ifdef SO_PASSPIDFD
	E(SO_PASSPIDFD),
#endif
#ifdef SO_PEERPIDFD
	E(SO_PEERPIDFD),
#endif
};

static const struct sbc_entry tcp_table[] = {
	E(TCP_NODELAY),
#ifdef TCP_MAXSEG
	E(TCP_MAXSEG),
#endif
#ifdef TCP_CORK
	E(TCP_CORK),
#endif
#ifdef TCP_KEEPIDLE
	E(TCP_KEEPIDLE),
#endif
#ifdef TCP_KEEPINTVL
	E(TCP_KEEPINTVL),
#endif
#ifdef TCP_KEEPCNT
	E(TCP_KEEPCNT),
#endif
#ifdef TCP_SYNCNT
	E(TCP_SYNCNT),
#endif
#ifdef TCP_LINGER2
	E(TCP_LINGER2),
#endif
#ifdef TCP_DEFER_ACCEPT
	E(TCP_DEFER_ACCEPT),
#endif
#ifdef TCP_WINDOW_CLAMP
	E(TCP_WINDOW_CLAMP),
#endif
#ifdef TCP_INFO
	E(TCP_INFO),
#endif
#ifdef TCP_QUICKACK
	E(TCP_QUICKACK),
#endif
#ifdef TCP_CONGESTION
	E(TCP_CONGESTION),
#endif
#ifdef TCP_MD5SIG
	E(TCP_MD5SIG),
#endif
#ifdef TCP_COOKIE_TRANSACTIONS
	E(TCP_COOKIE_TRANSACTIONS),
#endif
#ifdef TCP_THIN_LINEAR_TIMEOUTS
	E(TCP_THIN_LINEAR_TIMEOUTS),
#endif
#ifdef TCP_THIN_DUPACK
	E(TCP_THIN_DUPACK),
#endif
#ifdef TCP_USER_TIMEOUT
	E(TCP_USER_TIMEOUT),
#endif
#ifdef TCP_REPAIR
	E(TCP_REPAIR),
#endif
#ifdef TCP_REPAIR_QUEUE
	E(TCP_REPAIR_QUEUE),
#endif
#ifdef TCP_QUEUE_SEQ
	E(TCP_QUEUE_SEQ),
#endif
#ifdef TCP_REPAIR_OPTIONS
	E(TCP_REPAIR_OPTIONS),
#endif
#ifdef TCP_FASTOPEN
	E(TCP_FASTOPEN),
#endif
#ifdef TCP_TIMESTAMP
	E(TCP_TIMESTAMP),
#endif
#ifdef TCP_NOTSENT_LOWAT
	E(TCP_NOTSENT_LOWAT),
#endif
#ifdef TCP_CC_INFO
	E(TCP_CC_INFO),
#endif
#ifdef TCP_SAVE_SYN
	E(TCP_SAVE_SYN),
#endif
#ifdef TCP_SAVED_SYN
	E(TCP_SAVED_SYN),
#endif
#ifdef TCP_REPAIR_WINDOW
	E(TCP_REPAIR_WINDOW),
#endif
#ifdef TCP_FASTOPEN_CONNECT
	E(TCP_FASTOPEN_CONNECT),
#endif
#ifdef TCP_ULP
	E(TCP_ULP),
#endif
#ifdef TCP_MD5SIG_EXT
	E(TCP_MD5SIG_EXT),
#endif
#ifdef TCP_FASTOPEN_KEY
	E(TCP_FASTOPEN_KEY),
#endif
#ifdef TCP_FASTOPEN_NO_COOKIE
	E(TCP_FASTOPEN_NO_COOKIE),
#endif
#ifdef TCP_ZEROCOPY_RECEIVE
	E(TCP_ZEROCOPY_RECEIVE),
#endif
#ifdef TCP_INQ
	E(TCP_INQ),
#endif
#ifdef TCP_CM_INQ
	E(TCP_CM_INQ),
#endif
#ifdef TCP_TX_DELAY
	E(TCP_TX_DELAY),
#endif
	E(TCP_AO_REPAIR),
};

static const struct sbc_entry ip_table[] = {
#ifdef IP_TOS
	E(IP_TOS),
#endif
#ifdef IP_TTL
	E(IP_TTL),
#endif
#ifdef IP_HDRINCL
	E(IP_HDRINCL),
#endif
#ifdef IP_OPTIONS
	E(IP_OPTIONS),
#endif
#ifdef IP_ROUTER_ALERT
	E(IP_ROUTER_ALERT),
#endif
#ifdef IP_RECVOPTS
	E(IP_RECVOPTS),
#endif
#ifdef IP_RETOPTS
	E(IP_RETOPTS),
#endif
#ifdef IP_RECVRETOPTS
	E(IP_RECVRETOPTS),
#endif
#ifdef IP_PKTINFO
	E(IP_PKTINFO),
#endif
#ifdef IP_PKTOPTIONS
	E(IP_PKTOPTIONS),
#endif
#ifdef IP_MTU_DISCOVER
	E(IP_MTU_DISCOVER),
#endif
#ifdef IP_PMTUDISC
	E(IP_PMTUDISC),
#endif
#ifdef IP_RECVERR
	E(IP_RECVERR),
#endif
#ifdef IP_RECVTTL
	E(IP_RECVTTL),
#endif
#ifdef IP_RECVTOS
	E(IP_RECVTOS),
#endif
#ifdef IP_MTU
	E(IP_MTU),
#endif
#ifdef IP_FREEBIND
	E(IP_FREEBIND),
#endif
#ifdef IP_IPSEC_POLICY
	E(IP_IPSEC_POLICY),
#endif
#ifdef IP_XFRM_POLICY
	E(IP_XFRM_POLICY),
#endif
#ifdef IP_PASSSEC
	E(IP_PASSSEC),
#endif
#ifdef IP_TRANSPARENT
	E(IP_TRANSPARENT),
#endif
#ifdef IP_RECVORIGDSTADDR
	E(IP_RECVORIGDSTADDR),
#endif
#ifdef IP_ORIGDSTADDR
	E(IP_ORIGDSTADDR),
#endif
#ifdef IP_MINTTL
	E(IP_MINTTL),
#endif
#ifdef IP_NODEFRAG
	E(IP_NODEFRAG),
#endif
#ifdef IP_CHECKSUM
	E(IP_CHECKSUM),
#endif
#ifdef IP_BIND_ADDRESS_NO_PORT
	E(IP_BIND_ADDRESS_NO_PORT),
#endif
#ifdef IP_RECVFRAGSIZE
	E(IP_RECVFRAGSIZE),
#endif
#ifdef IP_RECVERR_RFC4884
	E(IP_RECVERR_RFC4884),
#endif
#ifdef IP_MULTICAST_IF
	E(IP_MULTICAST_IF),
#endif
#ifdef IP_MULTICAST_TTL
	E(IP_MULTICAST_TTL),
#endif
#ifdef IP_MULTICAST_LOOP
	E(IP_MULTICAST_LOOP),
#endif
#ifdef IP_ADD_MEMBERSHIP
	E(IP_ADD_MEMBERSHIP),
#endif
#ifdef IP_DROP_MEMBERSHIP
	E(IP_DROP_MEMBERSHIP),
#endif
#ifdef IP_UNBLOCK_SOURCE
	E(IP_UNBLOCK_SOURCE),
#endif
#ifdef IP_BLOCK_SOURCE
	E(IP_BLOCK_SOURCE),
#endif
#ifdef IP_ADD_SOURCE_MEMBERSHIP
	E(IP_ADD_SOURCE_MEMBERSHIP),
#endif
#ifdef IP_DROP_SOURCE_MEMBERSHIP
	E(IP_DROP_SOURCE_MEMBERSHIP),
#endif
#ifdef IP_MSFILTER
	E(IP_MSFILTER),
#endif
#ifdef MCAST_JOIN_GROUP
	E(MCAST_JOIN_GROUP),
#endif
#ifdef MCAST_BLOCK_SOURCE
	E(MCAST_BLOCK_SOURCE),
#endif
#ifdef MCAST_UNBLOCK_SOURCE
	E(MCAST_UNBLOCK_SOURCE),
#endif
#ifdef MCAST_LEAVE_GROUP
	E(MCAST_LEAVE_GROUP),
#endif
#ifdef MCAST_JOIN_SOURCE_GROUP
	E(MCAST_JOIN_SOURCE_GROUP),
#endif
#ifdef MCAST_LEAVE_SOURCE_GROUP
	E(MCAST_LEAVE_SOURCE_GROUP),
#endif
#ifdef MCAST_MSFILTER
	E(MCAST_MSFILTER),
#endif
#ifdef IP_MULTICAST_ALL
	E(IP_MULTICAST_ALL),
#endif
#ifdef IP_UNICAST_IF
	E(IP_UNICAST_IF),
#endif
#ifdef IP_LOCAL_PORT_RANGE
	E(IP_LOCAL_PORT_RANGE),
#endif
#ifdef IP_PROTOCOL
	E(IP_PROTOCOL),
#endif
	/* netfilter and multicast routing: set with CAP_NET_ADMIN (names of <linux/...> headers) */
	E(IPT_SO_SET_REPLACE),
	E(IPT_SO_SET_ADD_COUNTERS),
	E(ARPT_SO_SET_REPLACE),
	E(ARPT_SO_SET_ADD_COUNTERS),
	E(EBT_SO_SET_ENTRIES),
	E(EBT_SO_SET_COUNTERS),
	E(IP_VS_SO_SET_NONE),
	E(IP_VS_SO_SET_INSERT),
	E(IP_VS_SO_SET_ADD),
	E(IP_VS_SO_SET_EDIT),
	E(IP_VS_SO_SET_DEL),
	E(IP_VS_SO_SET_FLUSH),
	E(IP_VS_SO_SET_LIST),
	E(IP_VS_SO_SET_ADDDEST),
	E(IP_VS_SO_SET_DELDEST),
	E(IP_VS_SO_SET_EDITDEST),
	E(IP_VS_SO_SET_TIMEOUT),
	E(IP_VS_SO_SET_STARTDAEMON),
	E(IP_VS_SO_SET_STOPDAEMON),
	E(IP_VS_SO_SET_RESTORE),
	E(IP_VS_SO_SET_SAVE),
	E(IP_VS_SO_SET_ZERO),
	E(MRT_INIT),
	E(MRT_DONE),
	E(MRT_ADD_VIF),
	E(MRT_DEL_VIF),
	E(MRT_ADD_MFC),
	E(MRT_DEL_MFC),
	E(MRT_VERSION),
	E(MRT_ASSERT),
	E(MRT_PIM),
	E(MRT_TABLE),
	E(MRT_ADD_MFC_PROXY),
	E(MRT_DEL_MFC_PROXY),
	E(MRT_FLUSH),
};

static const struct sbc_entry ipv6_table[] = {
#ifdef IPV6_ADDRFORM
	E(IPV6_ADDRFORM),
#endif
#ifdef IPV6_2292PKTINFO
	E(IPV6_2292PKTINFO),
#endif
#ifdef IPV6_2292HOPOPTS
	E(IPV6_2292HOPOPTS),
#endif
#ifdef IPV6_2292DSTOPTS
	E(IPV6_2292DSTOPTS),
#endif
#ifdef IPV6_2292RTHDR
	E(IPV6_2292RTHDR),
#endif
#ifdef IPV6_2292PKTOPTIONS
	E(IPV6_2292PKTOPTIONS),
#endif
#ifdef IPV6_CHECKSUM
	E(IPV6_CHECKSUM),
#endif
#ifdef IPV6_2292HOPLIMIT
	E(IPV6_2292HOPLIMIT),
#endif
#ifdef IPV6_NEXTHOP
	E(IPV6_NEXTHOP),
#endif
#ifdef IPV6_AUTHHDR
	E(IPV6_AUTHHDR),
#endif
	E(IPV6_UNICAST_HOPS),
	E(IPV6_MULTICAST_IF),
	E(IPV6_MULTICAST_HOPS),
	E(IPV6_MULTICAST_LOOP),
	E(IPV6_JOIN_GROUP),
#ifdef IPV6_ADD_MEMBERSHIP
	E(IPV6_ADD_MEMBERSHIP),
#endif
	E(IPV6_LEAVE_GROUP),
#ifdef IPV6_DROP_MEMBERSHIP
	E(IPV6_DROP_MEMBERSHIP),
#endif
#ifdef IPV6_ROUTER_ALERT
	E(IPV6_ROUTER_ALERT),
#endif
#ifdef IPV6_MTU_DISCOVER
	E(IPV6_MTU_DISCOVER),
#endif
#ifdef IPV6_MTU
	E(IPV6_MTU),
#endif
#ifdef IPV6_RECVERR
	E(IPV6_RECVERR),
#endif
	E(IPV6_V6ONLY),
#ifdef IPV6_JOIN_ANYCAST
	E(IPV6_JOIN_ANYCAST),
#endif
#ifdef IPV6_LEAVE_ANYCAST
	E(IPV6_LEAVE_ANYCAST),
#endif
#ifdef IPV6_MULTICAST_ALL
	E(IPV6_MULTICAST_ALL),
#endif
#ifdef IPV6_ROUTER_ALERT_ISOLATE
	E(IPV6_ROUTER_ALERT_ISOLATE),
#endif
#ifdef IPV6_RECVERR_RFC4884
	E(IPV6_RECVERR_RFC4884),
#endif
#ifdef IPV6_IPSEC_POLICY
	E(IPV6_IPSEC_POLICY),
#endif
#ifdef IPV6_XFRM_POLICY
	E(IPV6_XFRM_POLICY),
#endif
#ifdef IPV6_HDRINCL
	E(IPV6_HDRINCL),
#endif
#ifdef MCAST_JOIN_GROUP
	E(MCAST_JOIN_GROUP),
#endif
#ifdef MCAST_BLOCK_SOURCE
	E(MCAST_BLOCK_SOURCE),
#endif
#ifdef MCAST_UNBLOCK_SOURCE
	E(MCAST_UNBLOCK_SOURCE),
#endif
#ifdef MCAST_LEAVE_GROUP
	E(MCAST_LEAVE_GROUP),
#endif
#ifdef MCAST_JOIN_SOURCE_GROUP
	E(MCAST_JOIN_SOURCE_GROUP),
#endif
#ifdef MCAST_LEAVE_SOURCE_GROUP
	E(MCAST_LEAVE_SOURCE_GROUP),
#endif
#ifdef MCAST_MSFILTER
	E(MCAST_MSFILTER),
#endif
#ifdef IPV6_RECVPKTINFO
	E(IPV6_RECVPKTINFO),
#endif
#ifdef IPV6_PKTINFO
	E(IPV6_PKTINFO),
#endif
#ifdef IPV6_RECVHOPLIMIT
	E(IPV6_RECVHOPLIMIT),
#endif
#ifdef IPV6_HOPLIMIT
	E(IPV6_HOPLIMIT),
#endif
#ifdef IPV6_RECVHOPOPTS
	E(IPV6_RECVHOPOPTS),
#endif
#ifdef IPV6_HOPOPTS
	E(IPV6_HOPOPTS),
#endif
#ifdef IPV6_RXHOPOPTS
	E(IPV6_RXHOPOPTS),
#endif
#ifdef IPV6_RTHDRDSTOPTS
	E(IPV6_RTHDRDSTOPTS),
#endif
#ifdef IPV6_RECVRTHDR
	E(IPV6_RECVRTHDR),
#endif
#ifdef IPV6_RTHDR
	E(IPV6_RTHDR),
#endif
#ifdef IPV6_RECVDSTOPTS
	E(IPV6_RECVDSTOPTS),
#endif
#ifdef IPV6_DSTOPTS
	E(IPV6_DSTOPTS),
#endif
#ifdef IPV6_RXDSTOPTS
	E(IPV6_RXDSTOPTS),
#endif
#ifdef IPV6_RECVPATHMTU
	E(IPV6_RECVPATHMTU),
#endif
#ifdef IPV6_PATHMTU
	E(IPV6_PATHMTU),
#endif
#ifdef IPV6_DONTFRAG
	E(IPV6_DONTFRAG),
#endif
#ifdef IPV6_RECVTCLASS
	E(IPV6_RECVTCLASS),
#endif
#ifdef IPV6_TCLASS
	E(IPV6_TCLASS),
#endif
#ifdef IPV6_AUTOFLOWLABEL
	E(IPV6_AUTOFLOWLABEL),
#endif
#ifdef IPV6_ADDR_PREFERENCES
	E(IPV6_ADDR_PREFERENCES),
#endif
#ifdef IPV6_MINHOPCOUNT
	E(IPV6_MINHOPCOUNT),
#endif
#ifdef IPV6_RECVORIGDSTADDR
	E(IPV6_RECVORIGDSTADDR),
#endif
#ifdef IPV6_ORIGDSTADDR
	E(IPV6_ORIGDSTADDR),
#endif
#ifdef IPV6_TRANSPARENT
	E(IPV6_TRANSPARENT),
#endif
#ifdef IPV6_UNICAST_IF
	E(IPV6_UNICAST_IF),
#endif
#ifdef IPV6_RECVFRAGSIZE
	E(IPV6_RECVFRAGSIZE),
#endif
#ifdef IPV6_FREEBIND
	E(IPV6_FREEBIND),
#endif
	E(IPV6_FLOWLABEL_MGR),
	/* netfilter and multicast routing, as at IPPROTO_IP */
	E(IP6T_SO_SET_REPLACE),
	E(IP6T_SO_SET_ADD_COUNTERS),
	E(MRT6_INIT),
	E(MRT6_DONE),
	E(MRT6_ADD_MIF),
	E(MRT6_DEL_MIF),
	E(MRT6_ADD_MFC),
	E(MRT6_DEL_MFC),
	E(MRT6_VERSION),
	E(MRT6_ASSERT),
	E(MRT6_PIM),
	E(MRT6_TABLE),
	E(MRT6_ADD_MFC_PROXY),
	E(MRT6_DEL_MFC_PROXY),
	E(MRT6_FLUSH),
};

static const struct sbc_entry netlink_table[] = {
	E(NETLINK_ADD_MEMBERSHIP),
	E(NETLINK_DROP_MEMBERSHIP),
	E(NETLINK_PKTINFO),
	E(NETLINK_BROADCAST_ERROR),
	E(NETLINK_NO_ENOBUFS),
	E(NETLINK_RX_RING),
	E(NETLINK_TX_RING),
	E(NETLINK_LISTEN_ALL_NSID),
	E(NETLINK_LIST_MEMBERSHIPS),
	E(NETLINK_CAP_ACK),
	E(NETLINK_EXT_ACK),
	E(NETLINK_GET_STRICT_CHK),
};

static const struct sbc_entry msg_table[] = {
	E(MSG_OOB),
	E(MSG_PEEK),
	E(MSG_DONTROUTE),
#ifdef MSG_TRYHARD
	E(MSG_TRYHARD),
#endif
	E(MSG_CTRUNC),
#ifdef MSG_PROXY
	E(MSG_PROXY),
#endif
	E(MSG_TRUNC),
#ifdef MSG_DONTWAIT
	E(MSG_DONTWAIT),
#endif
	E(MSG_EOR),
	E(MSG_WAITALL),
#ifdef MSG_FIN
	E(MSG_FIN),
#endif
#ifdef MSG_SYN
	E(MSG_SYN),
#endif
#ifdef MSG_CONFIRM
	E(MSG_CONFIRM),
#endif
#ifdef MSG_RST
	E(MSG_RST),
#endif
#ifdef MSG_ERRQUEUE
	E(MSG_ERRQUEUE),
#endif
	E(MSG_NOSIGNAL),
#ifdef MSG_MORE
	E(MSG_MORE),
#endif
#ifdef MSG_WAITFORONE
	E(MSG_WAITFORONE),
#endif
#ifdef MSG_BATCH
	E(MSG_BATCH),
#endif
#ifdef MSG_SOCK_DEVMEM
	E(MSG_SOCK_DEVMEM),
#endif
#ifdef MSG_ZEROCOPY
	E(MSG_ZEROCOPY),
#endif
#ifdef MSG_FASTOPEN
	E(MSG_FASTOPEN),
#endif
#ifdef MSG_CMSG_CLOEXEC
	E(MSG_CMSG_CLOEXEC),
#endif
};

static const struct sbc_entry shut_table[] = {
	E(SHUT_RD),
	E(SHUT_WR),
	E(SHUT_RDWR),
};

static const struct sbc_entry ai_table[] = {
	E(AI_PASSIVE),
	E(AI_CANONNAME),
	E(AI_NUMERICHOST),
	E(AI_V4MAPPED),
	E(AI_ALL),
	E(AI_ADDRCONFIG),
#ifdef AI_IDN
	E(AI_IDN),
#endif
#ifdef AI_CANONIDN
	E(AI_CANONIDN),
#endif
	E(AI_NUMERICSERV),
};

static const struct sbc_entry ni_table[] = {
	E(NI_NUMERICHOST),
	E(NI_NUMERICSERV),
	E(NI_NOFQDN),
	E(NI_NAMEREQD),
	E(NI_DGRAM),
#ifdef NI_IDN
	E(NI_IDN),
#endif
};

static const struct sbc_entry eai_table[] = {
	E(EAI_BADFLAGS),
	E(EAI_NONAME),
	E(EAI_AGAIN),
	E(EAI_FAIL),
#ifdef EAI_NODATA
	E(EAI_NODATA),
#endif
	E(EAI_FAMILY),
	E(EAI_SOCKTYPE),
	E(EAI_SERVICE),
#ifdef EAI_ADDRFAMILY
	E(EAI_ADDRFAMILY),
#endif
	E(EAI_MEMORY),
	E(EAI_SYSTEM),
	E(EAI_OVERFLOW),
#ifdef EAI_INPROGRESS
	E(EAI_INPROGRESS),
#endif
#ifdef EAI_CANCELED
	E(EAI_CANCELED),
#endif
#ifdef EAI_NOTCANCELED
	E(EAI_NOTCANCELED),
#endif
#ifdef EAI_ALLDONE
	E(EAI_ALLDONE),
#endif
#ifdef EAI_INTR
	E(EAI_INTR),
#endif
#ifdef EAI_IDN_ENCODE
	E(EAI_IDN_ENCODE),
#endif
};

static const struct sbc_entry errno_table[] = {
	E(EPERM),
	E(ENOENT),
	E(ESRCH),
	E(EINTR),
	E(EIO),
	E(ENXIO),
	E(E2BIG),
	E(ENOEXEC),
	E(EBADF),
	E(ECHILD),
	E(EAGAIN),
	E(EWOULDBLOCK),
	E(ENOMEM),
	E(EACCES),
	E(EFAULT),
#ifdef ENOTBLK
	E(ENOTBLK),
#endif
	E(EBUSY),
	E(EEXIST),
	E(EXDEV),
	E(ENODEV),
	E(ENOTDIR),
	E(EISDIR),
	E(EINVAL),
	E(ENFILE),
	E(EMFILE),
	E(ENOTTY),
	E(ETXTBSY),
	E(EFBIG),
	E(ENOSPC),
	E(ESPIPE),
	E(EROFS),
	E(EMLINK),
	E(EPIPE),
	E(EDOM),
	E(ERANGE),
	E(EDEADLK),
#ifdef EDEADLOCK
	E(EDEADLOCK),
#endif
	E(ENAMETOOLONG),
	E(ENOLCK),
	E(ENOSYS),
	E(ENOTEMPTY),
	E(ELOOP),
	E(ENOMSG),
	E(EIDRM),
#ifdef ECHRNG
	E(ECHRNG),
#endif
#ifdef EL2NSYNC
	E(EL2NSYNC),
#endif
#ifdef EL3HLT
	E(EL3HLT),
#endif
#ifdef EL3RST
	E(EL3RST),
#endif
#ifdef ELNRNG
	E(ELNRNG),
#endif
#ifdef EUNATCH
	E(EUNATCH),
#endif
#ifdef ENOCSI
	E(ENOCSI),
#endif
#ifdef EL2HLT
	E(EL2HLT),
#endif
#ifdef EBADE
	E(EBADE),
#endif
#ifdef EBADR
	E(EBADR),
#endif
#ifdef EXFULL
	E(EXFULL),
#endif
#ifdef ENOANO
	E(ENOANO),
#endif
#ifdef EBADRQC
	E(EBADRQC),
#endif
#ifdef EBADSLT
	E(EBADSLT),
#endif
#ifdef EBFONT
	E(EBFONT),
#endif
#ifdef ENOSTR
	E(ENOSTR),
#endif
#ifdef ENODATA
	E(ENODATA),
#endif
#ifdef ETIME
	E(ETIME),
#endif
#ifdef ENOSR
	E(ENOSR),
#endif
#ifdef ENONET
	E(ENONET),
#endif
#ifdef ENOPKG
	E(ENOPKG),
#endif
#ifdef EREMOTE
	E(EREMOTE),
#endif
	E(ENOLINK),
#ifdef EADV
	E(EADV),
#endif
#ifdef ESRMNT
	E(ESRMNT),
#endif
#ifdef ECOMM
	E(ECOMM),
#endif
	E(EPROTO),
	E(EMULTIHOP),
#ifdef EDOTDOT
	E(EDOTDOT),
#endif
	E(EBADMSG),
	E(EOVERFLOW),
#ifdef ENOTUNIQ
	E(ENOTUNIQ),
#endif
#ifdef EBADFD
	E(EBADFD),
#endif
#ifdef EREMCHG
	E(EREMCHG),
#endif
#ifdef ELIBACC
	E(ELIBACC),
#endif
#ifdef ELIBBAD
	E(ELIBBAD),
#endif
#ifdef ELIBSCN
	E(ELIBSCN),
#endif
#ifdef ELIBMAX
	E(ELIBMAX),
#endif
#ifdef ELIBEXEC
	E(ELIBEXEC),
#endif
	E(EILSEQ),
#ifdef ERESTART
	E(ERESTART),
#endif
#ifdef ESTRPIPE
	E(ESTRPIPE),
#endif
#ifdef EUSERS
	E(EUSERS),
#endif
	E(ENOTSOCK),
	E(EDESTADDRREQ),
	E(EMSGSIZE),
	E(EPROTOTYPE),
	E(ENOPROTOOPT),
	E(EPROTONOSUPPORT),
#ifdef ESOCKTNOSUPPORT
	E(ESOCKTNOSUPPORT),
#endif
	E(EOPNOTSUPP),
	E(ENOTSUP),
#ifdef EPFNOSUPPORT
	E(EPFNOSUPPORT),
#endif
	E(EAFNOSUPPORT),
	E(EADDRINUSE),
	E(EADDRNOTAVAIL),
	E(ENETDOWN),
	E(ENETUNREACH),
	E(ENETRESET),
	E(ECONNABORTED),
	E(ECONNRESET),
	E(ENOBUFS),
	E(EISCONN),
	E(ENOTCONN),
#ifdef ESHUTDOWN
	E(ESHUTDOWN),
#endif
#ifdef ETOOMANYREFS
	E(ETOOMANYREFS),
#endif
	E(ETIMEDOUT),
	E(ECONNREFUSED),
#ifdef EHOSTDOWN
	E(EHOSTDOWN),
#endif
	E(EHOSTUNREACH),
	E(EALREADY),
	E(EINPROGRESS),
	E(ESTALE),
#ifdef EUCLEAN
	E(EUCLEAN),
#endif
#ifdef ENOTNAM
	E(ENOTNAM),
#endif
#ifdef ENAVAIL
	E(ENAVAIL),
#endif
#ifdef EISNAM
	E(EISNAM),
#endif
#ifdef EREMOTEIO
	E(EREMOTEIO),
#endif
	E(EDQUOT),
#ifdef ENOMEDIUM
	E(ENOMEDIUM),
#endif
#ifdef EMEDIUMTYPE
	E(EMEDIUMTYPE),
#endif
	E(ECANCELED),
#ifdef ENOKEY
	E(ENOKEY),
#endif
#ifdef EKEYEXPIRED
	E(EKEYEXPIRED),
#endif
#ifdef EKEYREVOKED
	E(EKEYREVOKED),
#endif
#ifdef EKEYREJECTED
	E(EKEYREJECTED),
#endif
	E(EOWNERDEAD),
	E(ENOTRECOVERABLE),
#ifdef ERFKILL
	E(ERFKILL),
#endif
#ifdef EHWPOISON
	E(EHWPOISON),
#endif
};

static const struct sbc_entry scm_table[] = {
	E(SCM_RIGHTS),
#ifdef SCM_CREDENTIALS
	E(SCM_CREDENTIALS),
#endif
#ifdef SCM_SECURITY
	E(SCM_SECURITY),
#endif
#ifdef SCM_PIDFD
	E(SCM_PIDFD),
#endif
#ifdef SCM_TIMESTAMP
	E(SCM_TIMESTAMP),
#endif
#ifdef SCM_TIMESTAMPNS
	E(SCM_TIMESTAMPNS),
#endif
#ifdef SCM_TIMESTAMPING
	E(SCM_TIMESTAMPING),
#endif
#ifdef SCM_WIFI_STATUS
	E(SCM_WIFI_STATUS),
#endif
#ifdef SCM_TIMESTAMPING_OPT_STATS
	E(SCM_TIMESTAMPING_OPT_STATS),
#endif
#ifdef SCM_TIMESTAMPING_PKTINFO
	E(SCM_TIMESTAMPING_PKTINFO),
#endif
#ifdef SCM_TXTIME
	E(SCM_TXTIME),
#endif
};

static const struct sbc_entry herr_table[] = {
#ifdef NETDB_INTERNAL
	E(NETDB_INTERNAL),
#endif
#ifdef NETDB_SUCCESS
	E(NETDB_SUCCESS),
#endif
#ifdef HOST_NOT_FOUND
	E(HOST_NOT_FOUND),
#endif
#ifdef TRY_AGAIN
	E(TRY_AGAIN),
#endif
#ifdef NO_RECOVERY
	E(NO_RECOVERY),
#endif
#ifdef NO_DATA
	E(NO_DATA),
#endif
#ifdef NO_ADDRESS
	E(NO_ADDRESS),
#endif
};

static const struct sbc_entry tipc_table[] = {
#ifdef TIPC_ADDR_NAMESEQ
	E(TIPC_ADDR_NAMESEQ),
#endif
#ifdef TIPC_ADDR_MCAST
	E(TIPC_ADDR_MCAST),
#endif
#ifdef TIPC_SERVICE_RANGE
	E(TIPC_SERVICE_RANGE),
#endif
#ifdef TIPC_ADDR_NAME
	E(TIPC_ADDR_NAME),
#endif
#ifdef TIPC_SERVICE_ADDR
	E(TIPC_SERVICE_ADDR),
#endif
#ifdef TIPC_ADDR_ID
	E(TIPC_ADDR_ID),
#endif
#ifdef TIPC_SOCKET_ADDR
	E(TIPC_SOCKET_ADDR),
#endif
#ifdef TIPC_ZONE_SCOPE
	E(TIPC_ZONE_SCOPE),
#endif
	E(TIPC_CLUSTER_SCOPE),
	E(TIPC_NODE_SCOPE),
};

struct table {
	const struct sbc_entry *e;
	size_t n;
};

#define T(t) { t, ARRAY_SIZE(t) }
static const struct table tables[SBC_KIND_MAX] = {
	[SBC_AF] = T(af_table),
	[SBC_SOCK] = T(sock_table),
	[SBC_SOCKFLAG] = T(sockflag_table),
	[SBC_SOL] = T(sol_table),
	[SBC_SO] = T(so_table),
	[SBC_IPPROTO] = T(ipproto_table),
	[SBC_TCP] = T(tcp_table),
	[SBC_IP] = T(ip_table),
	[SBC_IPV6] = T(ipv6_table),
	[SBC_MSG] = T(msg_table),
	[SBC_SHUT] = T(shut_table),
	[SBC_AI] = T(ai_table),
	[SBC_NI] = T(ni_table),
	[SBC_EAI] = T(eai_table),
	[SBC_ERRNO] = T(errno_table),
	[SBC_SCM] = T(scm_table),
	[SBC_HERR] = T(herr_table),
	[SBC_TIPC] = T(tipc_table),
	[SBC_NETLINK] = T(netlink_table),
};
#undef T

#define TOTAL_ENTRIES (ARRAY_SIZE(af_table) + ARRAY_SIZE(sock_table) + ARRAY_SIZE(sockflag_table) + \
	ARRAY_SIZE(sol_table) + ARRAY_SIZE(so_table) + ARRAY_SIZE(ipproto_table) + ARRAY_SIZE(tcp_table) + \
	ARRAY_SIZE(ip_table) + ARRAY_SIZE(ipv6_table) + ARRAY_SIZE(msg_table) + ARRAY_SIZE(shut_table) + \
	ARRAY_SIZE(ai_table) + ARRAY_SIZE(ni_table) + ARRAY_SIZE(eai_table) + ARRAY_SIZE(errno_table) + \
	ARRAY_SIZE(scm_table) + ARRAY_SIZE(herr_table) + ARRAY_SIZE(tipc_table) + ARRAY_SIZE(netlink_table))

/* Per kind, a slice of each pool: entries sorted by name, and by value (ties
 * keep table order, so the first entry for a value is its preferred name). */
static const struct sbc_entry *by_name_pool[TOTAL_ENTRIES];
static const struct sbc_entry *by_value_pool[TOTAL_ENTRIES];
static const struct sbc_entry **by_name[SBC_KIND_MAX];
static const struct sbc_entry **by_value[SBC_KIND_MAX];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

/* Entries of one table are contiguous, so comparing addresses keeps table order. */
static int cmp_address(const struct sbc_entry *a, const struct sbc_entry *b)
{
	return (a > b) - (a < b);
}

static int cmp_name(const void *pa, const void *pb)
{
	const struct sbc_entry *a = *(const struct sbc_entry *const *)pa;
	const struct sbc_entry *b = *(const struct sbc_entry *const *)pb;
	int c = strcmp(a->name, b->name);

	return c ? c : cmp_address(a, b);
}

static int cmp_value(const void *pa, const void *pb)
{
	const struct sbc_entry *a = *(const struct sbc_entry *const *)pa;
	const struct sbc_entry *b = *(const struct sbc_entry *const *)pb;

	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return cmp_address(a, b);
}

/* Builds both sorted indexes of every table; runs once. */
static void build_indexes(void)
{
	size_t off = 0;

	for (size_t k = 0; k < SBC_KIND_MAX; k++) {
		const struct table *t = &tables[k];

		by_name[k] = by_name_pool + off;
		by_value[k] = by_value_pool + off;
		for (size_t i = 0; i < t->n; i++)
			by_name[k][i] = by_value[k][i] = &t->e[i];
		qsort(by_name[k], t->n, sizeof(by_name[k][0]), cmp_name);
		qsort(by_value[k], t->n, sizeof(by_value[k][0]), cmp_value);
		off += t->n;
	}
}

static bool kind_ok(enum sbc_kind kind)
{
	if ((unsigned)kind >= SBC_KIND_MAX)
		return false;
	pthread_once(&index_once, build_indexes);
	return true;
}

/* The table of one kind, in preference order. NULL (and *n = 0) for a bad kind. */
const struct sbc_entry *sbc_table(enum sbc_kind kind, size_t *n)
{
	if ((unsigned)kind >= SBC_KIND_MAX) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = tables[kind].n;
	return tables[kind].e;
}

static const struct sbc_entry *find_name(enum sbc_kind kind, const char *name)
{
	const struct sbc_entry *const *v = by_name[kind];
	size_t lo = 0, hi = tables[kind].n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, v[mid]->name);

		if (c == 0)
			return v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Name -> value. PF_x is accepted wherever AF_x is (the BSD spelling). */
int sbc_value(enum sbc_kind kind, const char *name, long *value)
{
	const struct sbc_entry *e;

	if (!name || !kind_ok(kind))
		return -ENOENT;
	e = find_name(kind, name);
	if (!e && kind == SBC_AF && strncmp(name, "PF_", 3) == 0) {
		char af[64];

		if (strlen(name) < sizeof(af)) {
			af[0] = 'A';
			strcpy(af + 1, name + 1);
			e = find_name(kind, af);
		}
	}
	if (!e)
		return -ENOENT;
	if (value)
		*value = e->value;
	return 0;
}

/* Value -> preferred name: the first of the run of equal values in by_value. */
const char *sbc_name(enum sbc_kind kind, long value)
{
	const struct sbc_entry *const *v;
	size_t lo = 0, hi;

	if (!kind_ok(kind))
		return NULL;
	v = by_value[kind];
	hi = tables[kind].n;
	while (lo < hi) {             /* lower bound */
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid]->value < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tables[kind].n && v[lo]->value == value)
		return v[lo]->name;
	return NULL;
}

int sbc_option_kind(long level)
{
	switch (level) {
	case SOL_SOCKET:
		return SBC_SO;
	case IPPROTO_TCP:
		return SBC_TCP;
	case IPPROTO_IP:
		return SBC_IP;
	case IPPROTO_IPV6:
		return SBC_IPV6;
	case SOL_NETLINK:
		return SBC_NETLINK;
	default:
		return -1;
	}
}

/* A JSON integer within [min, max] -> *value; -EINVAL for another JSON type. */
static int json_integer(json_object *j, long min, long max, long *value)
{
	int64_t v;

	if (!json_object_is_type(j, json_type_int))
		return -EINVAL;
	v = json_object_get_int64(j);
	/* json-c keeps integers above INT64_MAX as uint64 and then reports INT64_MAX here. */
	if (v == INT64_MAX && json_object_get_uint64(j) > (uint64_t)INT64_MAX)
		return -ERANGE;
	if (v < min || v > max)
		return -ERANGE;
	*value = (long)v;
	return 0;
}

/* A name (string) or a number (integer) of one kind. */
static int from_json(enum sbc_kind kind, json_object *j, long min, long max, long *value)
{
	long v;
	int r;

	if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j);

		/* A name never holds a NUL; one inside the JSON string is not a name. */
		if (strlen(s) != (size_t)json_object_get_string_len(j))
			return -ENOENT;
		r = sbc_value(kind, s, &v);
	} else
		r = json_integer(j, min, max, &v);
	if (r < 0)
		return r;
	if (value)
		*value = v;
	return 0;
}

int sbc_from_json(enum sbc_kind kind, json_object *j, long *value)
{
	return from_json(kind, j, INT_MIN, INT_MAX, value);
}

json_object *sbc_to_json(enum sbc_kind kind, long value)
{
	const char *name = sbc_name(kind, value);

	return name ? json_object_new_string(name) : json_object_new_int64(value);
}

/* Flag sets take any integer a long holds (flags wider than int exist). */
int sbc_flags_from_json(enum sbc_kind kind, json_object *j, long *value)
{
	unsigned long acc = 0;
	long v;
	int r;

	if (!json_object_is_type(j, json_type_array))
		return from_json(kind, j, LONG_MIN, LONG_MAX, value);
	for (size_t i = 0, n = json_object_array_length(j); i < n; i++) {
		r = from_json(kind, json_object_array_get_idx(j, i), LONG_MIN, LONG_MAX, &v);
		if (r < 0)
			return r;
		acc |= (unsigned long)v;
	}
	if (value)
		*value = (long)acc;
	return 0;
}

/* The preferred single-bit name for each set bit, or the integer if a bit has none. */
json_object *sbc_flags_to_json(enum sbc_kind kind, long value)
{
	unsigned long bits = (unsigned long)value;
	const char *names[sizeof(long) * CHAR_BIT];
	size_t n = 0;
	json_object *a;

	for (unsigned i = 0; i < sizeof(long) * CHAR_BIT; i++) {
		unsigned long bit = 1UL << i;

		if (!(bits & bit))
			continue;
		names[n] = bit <= (unsigned long)LONG_MAX ? sbc_name(kind, (long)bit) : NULL;
		if (!names[n])
			return json_object_new_int64(value);
		n++;
	}
	a = json_object_new_array_ext((int)n);
	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_new_string(names[i]);

		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

const char *sbc_errno_name(int e)
{
	return sbc_name(SBC_ERRNO, e);
}
