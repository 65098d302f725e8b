/* The HTTP face's bearer tokens (--http-token-file): who a TCP caller is.
 *
 * The file, JSON held to the policy files' rules (policy.h: strict syntax,
 * duplicate members refused, errors as file:line:column):
 *   {"version":1,"tokens":[{"name":"grafana","secret":"<at least 32 bytes>",
 *                           "user":"prometheus","expires":"2027-01-01T00:00:00Z"}]}
 * `expires` is optional (RFC 3339, UTC). The file holds secrets: it is
 * refused when it is a symbolic link, gives its group or others any
 * permission, or is owned by someone other than root or the daemon's user;
 * and, when the daemon runs as root, when a directory above it is writable
 * by a non-root user (as a policy file).
 *
 * A token stands for its user: the identity it gives is that user's uid,
 * primary gid and groups (as a login would have them), resolved when the file
 * is loaded, and no program: exe, unit, cgroup and label are unknown, so an
 * allow rule naming them does not match and a deny rule naming them does
 * (policy.h, policy_subject). Its name is the identity's `token`, which the
 * policy member `token` matches. A token of root is root's identity, and
 * gets what root gets (`admin` included).
 */
#ifndef SBD_HTTP_TOKEN_H
#define SBD_HTTP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

#define HTTP_TOKEN_MAX         1024   /* tokens in one file */
#define HTTP_TOKEN_SECRET_MIN  32     /* bytes of a secret */
#define HTTP_TOKEN_SECRET_MAX  4096
#define HTTP_TOKEN_MAX_GROUPS  65536  /* supplementary groups of a token's user */

/* Why an identity from a token knows no program (its *_unknown). */
#define HTTP_TOKEN_NO_PROGRAM  "a bearer token names no program"
/* The error of an anonymous HTTP caller's identity. */
#define HTTP_ANONYMOUS_ERROR   "anonymous HTTP caller: no bearer token"

struct identity;

struct http_token {
	char *name, *secret, *user;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	int64_t expires;   /* seconds since the epoch (UTC); 0 never */
};

struct http_tokens {
	struct http_token *v;
	size_t n;
};

/* Loads path into *out (emptied first). strict_owner: the daemon runs as
 * root (see above). 0, or -errno with err (a line "file:line:column: where:
 * what", never a secret) filled: -EINVAL content, -EPERM a refusal, -ELOOP a
 * symlink, -ENOENT, -EFBIG, -E2BIG more than HTTP_TOKEN_MAX tokens, -ENOMEM. */
int http_tokens_load(const char *path, bool strict_owner, struct http_tokens *out, char *err, size_t errlen);
/* Frees every token, wiping the secrets; leaves *t empty. */
void http_tokens_free(struct http_tokens *t);
/* The token whose secret is the len bytes at secret, or NULL. Every secret
 * is compared in full, in time that depends only on len and on the secrets'
 * lengths, never on where the bytes differ. Expiry is the caller's to
 * judge (http_token_expired). */
const struct http_token *http_tokens_find(const struct http_tokens *t, const char *secret, size_t len);
/* Whether t has expired at now (seconds since the epoch). */
bool http_token_expired(const struct http_token *t, int64_t now);
/* The identity t stands for (see above): 0, or -ENOMEM with *out empty. */
int http_token_identity(const struct http_token *t, struct identity *out);
/* The identity of an anonymous HTTP caller: uid and gid (uid_t)-1 and
 * error HTTP_ANONYMOUS_ERROR, so authz_gate refuses it all but
 * introspection. 0 or -ENOMEM. */
int http_anonymous_identity(struct identity *out);

/* RFC 3339 date-time in UTC ("2027-01-01T00:00:00Z", fractions of a second
 * allowed and dropped, "z" too): 0 with *t, or -EINVAL. For the tests. */
int http_token_parse_time(const char *s, int64_t *t);

/* sockbrokerd --check-policy with --http-token-file: loads it as the daemon
 * would, prints its tokens' names and users (never secrets) or the error to
 * stderr. 0 valid, 1 not. */
int http_tokens_check_cli(const char *path, bool strict_owner);

#endif
