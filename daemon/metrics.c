#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "call.h"
#include "conn.h"
#include "consts.h"
#include "jsonrpc.h"
#include "metrics.h"
#include "resolver.h"
#include "rpc.h"
#include "server.h"
#include "sock.h"
#include "util.h"

/* Outcomes of a call, the `outcome` label of sockbroker_requests_total. */
enum outcome {
	OUT_OK,
	OUT_DENIED,
	OUT_INVALID,
	OUT_LIMIT,
	OUT_OS_ERROR,
	OUT_RESOLVER,
	OUT_NO_HANDLE,
	OUT_TIMEOUT,
	OUT_CANCELLED,
	OUT_OTHER,
	OUT_N
};

static const char *const outcome_names[OUT_N] = {
	"ok", "denied", "invalid", "limit", "os_error", "resolver", "no_handle", "timeout", "cancelled", "other",
};

/* Upper bounds of the latency buckets, in ns (le= in seconds, below). From a
 * quick introspection call to a recv that waited a minute. */
static const uint64_t bucket_ns[] = {
	100000ull, 250000ull, 500000ull, 1000000ull, 2500000ull, 5000000ull, 10000000ull, 25000000ull,
	50000000ull, 100000000ull, 250000000ull, 500000000ull, 1000000000ull, 2500000000ull,
	5000000000ull, 10000000000ull, 30000000000ull, 60000000000ull,
};
static const char *const bucket_le[] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
};
#define NBUCKETS ARRAY_SIZE(bucket_ns)

/* Latency is kept per method group (the name before the dot: "socket",
 * "net", ...): per method would be ~60 histograms of 20 series each. */
#define MAX_GROUPS 16
#define GROUP_LEN 24

struct latency {
	uint64_t buckets[NBUCKETS + 1];     /* not cumulative; [NBUCKETS] is above the last bound */
	uint64_t count;
	uint64_t sum_ns;
};

#define HTTP_MIN 100u
#define HTTP_MAX 599u

struct metrics {
	size_t nmethods;                    /* index nmethods: no method known ("unknown") */
	uint64_t (*calls)[OUT_N];           /* [nmethods + 1] */
	unsigned char *group_of;            /* [nmethods + 1]: index into groups */
	char groups[MAX_GROUPS][GROUP_LEN];
	size_t ngroups;
	struct latency *latency;            /* [ngroups] */
	uint64_t bytes_sent, bytes_received;
	uint64_t http[HTTP_MAX - HTTP_MIN + 1];
};

const char *metrics_outcome_name(int code)
{
	enum outcome o;

	switch (code) {
	case 0: o = OUT_OK; break;
	case SB_ERR_DENIED: o = OUT_DENIED; break;
	case JRPC_PARSE_ERROR:
	case JRPC_INVALID_REQUEST:
	case JRPC_METHOD_NOT_FOUND:
	case JRPC_INVALID_PARAMS: o = OUT_INVALID; break;
	case SB_ERR_LIMIT: o = OUT_LIMIT; break;
	case SB_ERR_OS: o = OUT_OS_ERROR; break;
	case SB_ERR_GAI:
	case SB_ERR_HOST: o = OUT_RESOLVER; break;
	case SB_ERR_NO_HANDLE: o = OUT_NO_HANDLE; break;
	case SB_ERR_TIMEOUT: o = OUT_TIMEOUT; break;
	case METRICS_CODE_GONE: o = OUT_CANCELLED; break;
	default: o = OUT_OTHER; break;
	}
	return outcome_names[o];
}

static enum outcome outcome_of(int code)
{
	const char *name = metrics_outcome_name(code);

	for (size_t i = 0; i < OUT_N; i++)
		if (outcome_names[i] == name)
			return (enum outcome)i;
	return OUT_OTHER;
}

/* The group of a method name ("socket" of "socket.send"), added when new. */
static size_t group_index(struct metrics *m, const char *name)
{
	size_t len = strcspn(name, ".");

	if (len >= GROUP_LEN)
		len = GROUP_LEN - 1;
	for (size_t g = 0; g < m->ngroups; g++)
		if (strlen(m->groups[g]) == len && !strncmp(m->groups[g], name, len))
			return g;
	if (m->ngroups == MAX_GROUPS)
		return MAX_GROUPS - 1;      /* shared by the rest: the table has 6 today */
	memcpy(m->groups[m->ngroups], name, len);
	m->groups[m->ngroups][len] = '\0';
	return m->ngroups++;
}

int metrics_new(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->nmethods = rpc_method_count();
	m->calls = calloc(m->nmethods + 1, sizeof(*m->calls));
	m->group_of = calloc(m->nmethods + 1, 1);
	m->latency = calloc(MAX_GROUPS, sizeof(*m->latency));
	if (!m->calls || !m->group_of || !m->latency) {
		metrics_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nmethods; i++)
		m->group_of[i] = (unsigned char)group_index(m, rpc_method_at(i)->name);
	m->group_of[m->nmethods] = (unsigned char)group_index(m, "unknown");
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->calls);
	free(m->group_of);
	free(m->latency);
	free(m);
}

void metrics_call_end(struct metrics *m, const struct rpc_method *method, int code, uint64_t duration_ns)
{
	struct latency *l;
	size_t i, b = 0;

	if (!m)
		return;
	i = rpc_method_index(method);
	if (i > m->nmethods)
		i = m->nmethods;
	m->calls[i][outcome_of(code)]++;
	l = &m->latency[m->group_of[i]];
	while (b < NBUCKETS && duration_ns > bucket_ns[b])
		b++;
	l->buckets[b]++;
	l->count++;
	l->sum_ns += duration_ns;
}

void metrics_http_response(struct metrics *m, unsigned status)
{
	if (m && status >= HTTP_MIN && status <= HTTP_MAX)
		m->http[status - HTTP_MIN]++;
}

void metrics_bytes(struct metrics *m, bool sent, uint64_t n)
{
	if (!m)
		return;
	if (sent)
		m->bytes_sent += n;
	else
		m->bytes_received += n;
}

/* ---- rendering ---- */

/* A label value as the format wants it: backslash, double quote and newline
 * escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n, value escaped. */
static void sample1(FILE *f, const char *name, const char *label, const char *value, uint64_t n)
{
	fprintf(f, "%s{%s=\"", name, label);
	put_label(f, value);
	fprintf(f, "\"} %llu\n", (unsigned long long)n);
}

static void sample(FILE *f, const char *name, uint64_t n)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)n);
}

static const char *method_name(const struct metrics *m, size_t i)
{
	return i < m->nmethods ? rpc_method_at(i)->name : "unknown";
}

static void render_requests(FILE *f, const struct metrics *m)
{
	header(f, "sockbroker_requests_total", "counter",
	       "JSON-RPC requests that ended, by method and outcome (series appear at their first request).");
	for (size_t i = 0; i <= m->nmethods; i++)
		for (size_t o = 0; o < OUT_N; o++) {
			if (!m->calls[i][o])
				continue;
			fprintf(f, "sockbroker_requests_total{method=\"");
			put_label(f, method_name(m, i));
			fprintf(f, "\",outcome=\"%s\"} %llu\n", outcome_names[o], (unsigned long long)m->calls[i][o]);
		}

	header(f, "sockbroker_request_duration_seconds", "histogram",
	       "Time from a request's dispatch to its reply, by method group (the name before the dot).");
	for (size_t g = 0; g < m->ngroups; g++) {
		const struct latency *l = &m->latency[g];
		uint64_t cum = 0;
		for (size_t b = 0; b <= NBUCKETS; b++) {
			cum += l->buckets[b];
			fprintf(f, "sockbroker_request_duration_seconds_bucket{group=\"");
			put_label(f, m->groups[g]);
			fprintf(f, "\",le=\"%s\"} %llu\n", b < NBUCKETS ? bucket_le[b] : "+Inf", (unsigned long long)cum);
		}
		fprintf(f, "sockbroker_request_duration_seconds_sum{group=\"");
		put_label(f, m->groups[g]);
		fprintf(f, "\"} %llu.%09llu\n", (unsigned long long)(l->sum_ns / 1000000000ull),
		        (unsigned long long)(l->sum_ns % 1000000000ull));
		sample1(f, "sockbroker_request_duration_seconds_count", "group", m->groups[g], l->count);
	}
}

static void render_policy(FILE *f, const struct authz *a)
{
	header(f, "sockbroker_policy_decisions_total", "counter",
	       "Policy decisions by the rule that decided them and the verdict (since start; kept across reloads by rule name).");
	for (size_t i = 1; i < a->ncounters; i++) {
		const struct authz_counter *c = &a->counters[i];
		const char *rule = c->rule ? c->rule : "";
		fprintf(f, "sockbroker_policy_decisions_total{rule=\"");
		put_label(f, rule);
		fprintf(f, "\",verdict=\"allow\"} %llu\n", (unsigned long long)c->allowed);
		fprintf(f, "sockbroker_policy_decisions_total{rule=\"");
		put_label(f, rule);
		fprintf(f, "\",verdict=\"deny\"} %llu\n", (unsigned long long)c->denied);
	}
	header(f, "sockbroker_policy_unmatched_decisions_total", "counter",
	       "Policy decisions no rule covered, by verdict.");
	sample1(f, "sockbroker_policy_unmatched_decisions_total", "verdict", "allow",
	        a->ncounters ? a->counters[0].allowed : 0);
	sample1(f, "sockbroker_policy_unmatched_decisions_total", "verdict", "deny",
	        a->ncounters ? a->counters[0].denied : 0);
	header(f, "sockbroker_policy_generation", "gauge", "The policy's generation: 1 at start, +1 per successful reload.");
	sample(f, "sockbroker_policy_generation", a->generation);
	header(f, "sockbroker_policy_reloads_total", "counter", "Successful policy reloads.");
	sample(f, "sockbroker_policy_reloads_total", a->reloads);
	header(f, "sockbroker_policy_reload_failures_total", "counter", "Policy reloads that failed (the old policy stayed).");
	sample(f, "sockbroker_policy_reload_failures_total", a->reload_failures);
	header(f, "sockbroker_audit_write_failures_total", "counter", "Audit records that could not be written to --audit-log.");
	sample(f, "sockbroker_audit_write_failures_total", a->audit_failures);
}

static void render_connections(FILE *f, const struct server *s)
{
	header(f, "sockbroker_connections", "gauge", "Client connections open on the control socket.");
	sample(f, "sockbroker_connections", s->nconns);
	header(f, "sockbroker_connections_max", "gauge", "The limit of client connections (--max-connections).");
	sample(f, "sockbroker_connections_max", s->cfg.max_connections);
	header(f, "sockbroker_connections_accepted_total", "counter", "Client connections accepted.");
	sample(f, "sockbroker_connections_accepted_total", s->stats.connections_accepted);
	header(f, "sockbroker_connections_refused_total", "counter",
	       "Client connections refused: over a connection limit, or credentials unreadable.");
	sample(f, "sockbroker_connections_refused_total", s->stats.connections_refused);
	header(f, "sockbroker_slow_disconnects_total", "counter",
	       "Connections closed because replies queued toward them passed --max-queued-bytes.");
	sample(f, "sockbroker_slow_disconnects_total", s->stats.slow_disconnects);
	header(f, "sockbroker_oversize_messages_total", "counter", "Messages over --max-message-bytes (their connection was closed).");
	sample(f, "sockbroker_oversize_messages_total", s->stats.oversize_messages);
	header(f, "sockbroker_accept_pauses_total", "counter", "Times accepting paused because the daemon ran out of descriptors.");
	sample(f, "sockbroker_accept_pauses_total", s->stats.accept_pauses);
}

struct kind_count {
	int family, type;
	uint64_t n;
};

/* A name for a constant, or its number. */
static const char *const_name(enum sbc_kind kind, long v, char *buf, size_t n)
{
	const char *name = sbc_name(kind, v);

	if (name)
		return name;
	snprintf(buf, n, "%ld", v);
	return buf;
}

static int render_handles(FILE *f, const struct server *s)
{
	struct kind_count *k = NULL;
	size_t nk = 0, cap = 0;

	for (size_t b = 0; b < s->socks.nbuckets; b++)
		for (const struct sock *sk = s->socks.buckets[b]; sk; sk = sk->hash_next) {
			size_t i = 0;
			if (sk->dead)
				continue;
			while (i < nk && (k[i].family != sk->family || k[i].type != sk->type))
				i++;
			if (i == nk) {
				if (nk == cap) {
					struct kind_count *nkc = realloc(k, (cap ? cap * 2 : 8) * sizeof(*k));
					if (!nkc) {
						free(k);
						return -ENOMEM;
					}
					k = nkc;
					cap = cap ? cap * 2 : 8;
				}
				k[nk++] = (struct kind_count){ sk->family, sk->type, 0 };
			}
			k[i].n++;
		}
	header(f, "sockbroker_handles", "gauge", "Sockets the daemon holds for clients (handles), by family and type.");
	for (size_t i = 0; i < nk; i++) {
		char fb[24], tb[24];
		fprintf(f, "sockbroker_handles{family=\"");
		put_label(f, const_name(SBC_AF, k[i].family, fb, sizeof(fb)));
		fprintf(f, "\",type=\"");
		put_label(f, const_name(SBC_SOCK, k[i].type, tb, sizeof(tb)));
		fprintf(f, "\"} %llu\n", (unsigned long long)k[i].n);
	}
	free(k);
	return 0;
}

static int render_pending(FILE *f, const struct server *s, const struct metrics *m)
{
	uint64_t *n = calloc(m->nmethods + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (const struct conn *c = s->conns; c; c = c->next)
		for (const struct call *call = c->calls; call; call = call->next)
			n[rpc_method_index(call->method)]++;
	header(f, "sockbroker_pending_requests", "gauge",
	       "Requests in flight (parked: waiting for a socket, a timeout or a look-up), by method.");
	/* Methods that may park always have a series; others only while one is
	 * in flight. */
	for (size_t i = 0; i <= m->nmethods; i++) {
		bool may_block = i < m->nmethods && (rpc_method_at(i)->flags & RPC_MAY_BLOCK);
		if (n[i] || may_block)
			sample1(f, "sockbroker_pending_requests", "method", method_name(m, i), n[i]);
	}
	free(n);
	return 0;
}

static void render_process(FILE *f, const struct server *s)
{
	struct rlimit rl;
	struct timespec now;
	double up = server_uptime(s);
	DIR *d = opendir("/proc/self/fd");

	header(f, "sockbroker_open_fds", "gauge", "Descriptors the daemon has open (/proc/self/fd).");
	if (d) {
		struct dirent *e;
		uint64_t n = 0;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		sample(f, "sockbroker_open_fds", n ? n - 1 : 0);    /* not the directory's own */
	}
	header(f, "sockbroker_max_fds", "gauge", "The daemon's descriptor limit (RLIMIT_NOFILE, soft).");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
{
		if (rl.rlim_cur == RLIM_INFINITY)
			fputs("sockbroker_max_fds +Inf\n", f);
		else
			sample(f, "sockbroker_max_fds", (uint64_t)rl.rlim_cur);
	}

	header(f, "sockbroker_resolver_queue_depth", "gauge",
	       "Name look-ups held by the resolver: waiting, running, or finished and not yet delivered.");
	sample(f, "sockbroker_resolver_queue_depth", s->resolver ? resolver_pending(s->resolver) : 0);
	header(f, "sockbroker_resolver_queue_max", "gauge", "The resolver queue's limit (--max-resolver-queue).");
	sample(f, "sockbroker_resolver_queue_max", s->resolver ? resolver_max_queue(s->resolver) : 0);
	header(f, "sockbroker_resolver_workers", "gauge", "Resolver worker threads (--resolver-threads).");
	sample(f, "sockbroker_resolver_workers", s->resolver ? resolver_workers(s->resolver) : 0);
	header(f, "sockbroker_resolver_workers_busy", "gauge", "Resolver workers running a look-up now.");
	sample(f, "sockbroker_resolver_workers_busy", s->resolver ? resolver_running(s->resolver) : 0);

	header(f, "sockbroker_uptime_seconds", "gauge", "Seconds since the daemon started (monotonic clock).");
	fprintf(f, "sockbroker_uptime_seconds %.3f\n", up);
	header(f, "sockbroker_start_time_seconds", "gauge", "When the daemon started, in seconds since the Unix epoch.");
	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(f, "sockbroker_start_time_seconds %.3f\n", (double)now.tv_sec + now.tv_nsec / 1e9 - up);
	header(f, "sockbroker_build_info", "gauge", "Always 1; the labels say which build runs.");
	fprintf(f, "sockbroker_build_info{version=\"");
	put_label(f, PACKAGE_VERSION);
	fprintf(f, "\",protocol=\"1\"} 1\n");
}

static void render_traffic(FILE *f, const struct metrics *m)
{
	header(f, "sockbroker_relayed_bytes_total", "counter",
	       "Payload bytes relayed for clients: sent to their sockets (socket.send*) or received from them (socket.recv*).");
	sample1(f, "sockbroker_relayed_bytes_total", "direction", "sent", m->bytes_sent);
	sample1(f, "sockbroker_relayed_bytes_total", "direction", "received", m->bytes_received);
	header(f, "sockbroker_http_responses_total", "counter", "HTTP responses by status code.");
	for (unsigned i = 0; i <= HTTP_MAX - HTTP_MIN; i++)
		if (m->http[i])
			fprintf(f, "sockbroker_http_responses_total{code=\"%u\"} %llu\n", i + HTTP_MIN,
			        (unsigned long long)m->http[i]);
}

int metrics_render(struct server *s, char **text, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;
	int r = 0;

	*text = NULL;
	*len = 0;
	if (!s->metrics)
		return -EINVAL;
	f = open_memstream(&buf, &n);
	if (!f)
		return -ENOMEM;
	render_requests(f, s->metrics);
	render_policy(f, &s->authz);
	render_connections(f, s);
	if (r == 0)
		r = render_handles(f, s);
	if (r == 0)
		r = render_pending(f, s, s->metrics);
	render_process(f, s);
	render_traffic(f, s->metrics);
	if (ferror(f) && r == 0)
		r = -ENOMEM;
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*text = buf;
	*len = n;
	return 0;
}
