#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "unit.h"

/* RFC 4648 section 10. */
static const struct {
	const char *plain;
	const char *enc;
} rfc_vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* Deterministic generator so a failure reproduces. */
static uint64_t rng_state;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

START_TEST(test_rfc_encode)
{
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
		const char *p = rfc_vectors[i].plain, *e = rfc_vectors[i].enc;
		char out[32];
		char *a;

		memset(out, 'X', sizeof(out));
		ck_assert_uint_eq(b64_encoded_len(strlen(p)), strlen(e));
		ck_assert_uint_eq(b64_encode(p, strlen(p), out), strlen(e));
		ck_assert_str_eq(out, e);
		a = b64_encode_alloc(p, strlen(p));
		ck_assert_ptr_nonnull(a);
		ck_assert_str_eq(a, e);
		free(a);
	}
}
END_TEST

START_TEST(test_rfc_decode)
{
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]); i++) {
		const char *p = rfc_vectors[i].plain, *e = rfc_vectors[i].enc;
		unsigned char out[32], *a = NULL;
		size_t alen = 99;

		ck_assert_uint_ge(b64_decoded_maxlen(strlen(e)), strlen(p));
		ck_assert_int_eq(b64_decode(e, strlen(e), out, sizeof(out)), (ssize_t)strlen(p));
		ck_assert(memcmp(out, p, strlen(p)) == 0);
		/* exact-size buffer is enough */
		ck_assert_int_eq(b64_decode(e, strlen(e), out, strlen(p)), (ssize_t)strlen(p));
		ck_assert_int_eq(b64_decode_alloc(e, strlen(e), &a, &alen), 0);
		ck_assert_ptr_nonnull(a);
		ck_assert_uint_eq(alen, strlen(p));
		ck_assert(memcmp(a, p, alen) == 0);
		free(a);
	}
}
END_TEST

START_TEST(test_empty)
{
	unsigned char *a = NULL;
	size_t alen = 5;
	char out[1];

	ck_assert_int_eq(b64_decode("", 0, NULL, 0), 0);
	ck_assert_int_eq(b64_decode_alloc("", 0, &a, &alen), 0);
	ck_assert_uint_eq(alen, 0);
	free(a);
	ck_assert_uint_eq(b64_encode("", 0, out), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

static const char *const malformed[] = {
	/* length not a multiple of 4 / missing padding */
	"Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zm9vYg", "Zm9vYg=", "Zm9vYmE",
	/* extra padding */
	"Zg===", "Zm8==", "Zm9v=", "Zm9v====", "====", "A===", "=AAA", "==AA", "Zm==Zm9v",
	/* padding in the middle */
	"Zg==Zg==", "Zm=v", "Z=9v", "Zm8=Zm9v",
	/* whitespace */
	"Zm9v\n", " Zm9v", "Zm 9v   ", "Zm9v\r\n", "Zm\t9v", "Zm9vYmFy\n\n\n\n", "Zm9v    ",
	/* outside the alphabet (incl. base64url) */
	"Zm9-", "Zm9_", "Zm9*", "Zm.v", "Zm9v!!!=", "\xc3\xa9\x41\x41",
	/* non-zero trailing bits */
	"QR==", "Zh==", "Zm9=", "Zm9vYh==", "Zm9vYmF=", "AB==", "AAB=",
};

START_TEST(test_malformed)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		const char *s = malformed[i];
		unsigned char out[64], *a = (unsigned char *)"sentinel";
		size_t alen = 77;

		ck_assert_msg(b64_decode(s, strlen(s), out, sizeof(out)) == -EINVAL,
		              "accepted \"%s\"", s);
		/* malformed wins over a too-small buffer */
		ck_assert_msg(b64_decode(s, strlen(s), out, 0) == -EINVAL, "\"%s\" with outsz 0", s);
		ck_assert_int_eq(b64_decode_alloc(s, strlen(s), &a, &alen), -EINVAL);
		ck_assert_str_eq((char *)a, "sentinel"); /* untouched on error */
		ck_assert_uint_eq(alen, 77);
	}
}
END_TEST

START_TEST(test_embedded_nul)
{
	unsigned char out[8];

	ck_assert_int_eq(b64_decode("Zm9\0", 4, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(b64_decode("Zm9v\0\0\0\0", 8, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(b64_decode("Zg=\0", 4, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(b64_decode("Zg\0=", 4, out, sizeof(out)), -EINVAL);
}
END_TEST

START_TEST(test_trailing_bits)
{
	unsigned char out[4];

	ck_assert_int_eq(b64_decode("QQ==", 4, out, sizeof(out)), 1);
	ck_assert_uint_eq(out[0], 'A');
	ck_assert_int_eq(b64_decode("QR==", 4, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(b64_decode("QUI=", 4, out, sizeof(out)), 2);
	ck_assert_int_eq(b64_decode("QUJ=", 4, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(b64_decode("//8=", 4, out, sizeof(out)), 2);
	ck_assert_uint_eq(out[0], 0xff);
	ck_assert_uint_eq(out[1], 0xff);
	ck_assert_int_eq(b64_decode("/w==", 4, out, sizeof(out)), 1);
	ck_assert_uint_eq(out[0], 0xff);
	ck_assert_int_eq(b64_decode("/x==", 4, out, sizeof(out)), -EINVAL);
}
END_TEST

/* Every "ab==" and "abc=" over alphabet+'=': the decoder accepts exactly the
 * canonical encodings (decode then encode gives back the input). */
START_TEST(test_exhaustive_last_quantum)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
	size_t nc = strlen(chars), ok2 = 0, ok3 = 0;
	char s[5] = "", back[8];
	unsigned char out[4];

	for (size_t i = 0; i < nc; i++)
		for (size_t j = 0; j < nc; j++) {
			ssize_t n;

			s[0] = chars[i], s[1] = chars[j], s[2] = '=', s[3] = '=';
			n = b64_decode(s, 4, out, sizeof(out));
			if (n >= 0) {
				ck_assert_int_eq(n, 1);
				b64_encode(out, 1, back);
				ck_assert_str_eq(back, s);
				ok2++;
			} else {
				ck_assert_int_eq(n, -EINVAL);
			}
			for (size_t k = 0; k + 1 < nc; k++) { /* not '=': "ab==" is above */
				s[2] = chars[k], s[3] = '=';
				n = b64_decode(s, 4, out, sizeof(out));
				if (n >= 0) {
					ck_assert_int_eq(n, 2);
					b64_encode(out, 2, back);
					ck_assert_str_eq(back, s);
					ok3++;
				} else {
					ck_assert_int_eq(n, -EINVAL);
				}
			}
		}
	/* 64 first characters x 4 second characters with the low bits clear, etc. */
	ck_assert_uint_eq(ok2, 64 * 4);
	ck_assert_uint_eq(ok3, 64 * 64 * 16);
}
END_TEST

/* Random 4-character strings over alphabet+'=' and a few foreign bytes. */
START_TEST(test_random_quanta_canonical)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n-_";
	size_t nc = strlen(chars);

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int iter = 0; iter < 200000; iter++) {
		char s[8], back[16];
		unsigned char out[8];
		ssize_t n;

		for (int k = 0; k < 8; k++)
			s[k] = chars[rng() % nc];
		n = b64_decode(s, 8, out, sizeof(out));
		if (n >= 0) {
			ck_assert_uint_eq(b64_encode(out, (size_t)n, back), 8);
			ck_assert(memcmp(back, s, 8) == 0);
		} else {
			ck_assert_int_eq(n, -EINVAL);
		}
	}
}
END_TEST

START_TEST(test_random_roundtrip)
{
	rng_state = 0x0123456789abcdefULL;
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = rng() % 700, elen;
		unsigned char *in = malloc(n ? n : 1), *dec = NULL, *out;
		char *enc;
		size_t dlen = 0;
		ssize_t r;

		ck_assert_ptr_nonnull(in);
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)rng();
		enc = b64_encode_alloc(in, n);
		ck_assert_ptr_nonnull(enc);
		elen = strlen(enc);
		ck_assert_uint_eq(elen, b64_encoded_len(n));
		ck_assert_uint_eq(elen % 4, 0);
		ck_assert_int_eq(b64_decode_alloc(enc, elen, &dec, &dlen), 0);
		ck_assert_uint_eq(dlen, n);
		ck_assert(n == 0 || memcmp(dec, in, n) == 0);

		/* exact buffer decodes; one byte less is -ENOBUFS */
		out = malloc(n + 1);
		ck_assert_ptr_nonnull(out);
		r = b64_decode(enc, elen, out, n);
		ck_assert_int_eq(r, (ssize_t)n);
		if (n > 0)
			ck_assert_int_eq(b64_decode(enc, elen, out, n - 1), -ENOBUFS);
		ck_assert_uint_ge(b64_decoded_maxlen(elen), n);
		ck_assert_uint_le(b64_decoded_maxlen(elen), n + 2);
		free(out);
		free(enc);
		free(dec);
		free(in);
	}
}
END_TEST

START_TEST(test_enobufs)
{
	unsigned char out[8];

	memset(out, 0xaa, sizeof(out));
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 5), -ENOBUFS);
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 0), -ENOBUFS);
	ck_assert_int_eq(b64_decode("Zm9vYmE=", 8, out, 4), -ENOBUFS);
	ck_assert_int_eq(b64_decode("Zm9vYg==", 8, out, 3), -ENOBUFS);
	ck_assert_int_eq(b64_decode("Zg==", 4, out, 0), -ENOBUFS);
	/* never writes past outsz */
	ck_assert_uint_eq(out[5], 0xaa);
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 6), 6);
	ck_assert(memcmp(out, "foobar", 6) == 0);
	ck_assert_uint_eq(out[6], 0xaa);
}
END_TEST

START_TEST(test_binary)
{
	unsigned char all[256], back[256];
	char enc[400];

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	ck_assert_uint_eq(b64_encode(all, 256, enc), 344);
	ck_assert(strncmp(enc, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44) == 0);
	ck_assert(strcmp(enc + 340, "/w==") == 0);
	ck_assert_int_eq(b64_decode(enc, 344, back, sizeof(back)), 256);
	ck_assert(memcmp(all, back, 256) == 0);
}
END_TEST

static Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rfc_encode);
	tcase_add_test(tc, test_rfc_decode);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_trailing_bits);
	tcase_add_test(tc, test_exhaustive_last_quantum);
	tcase_add_test(tc, test_random_quanta_canonical);
	tcase_add_test(tc, test_random_roundtrip);
	tcase_add_test(tc, test_enobufs);
	tcase_add_test(tc, test_binary);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(base64_suite());
}
