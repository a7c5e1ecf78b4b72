/*
 * s3/s3xml.c: S3 response documents as AWS and s3rver write them, and
 * hostile ones (entity expansion, external entities, huge, deep,
 * truncated, wrong root), which must give a clear error and never crash.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"
#include "test.h"

#define S(lit) lit, sizeof(lit) - 1

/* ListObjectsV2 from the AWS API reference, with a truncated page. */
static const char aws_v2[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <Name>bucket</Name>\n  <Prefix>db/generations/</Prefix>\n"
    "  <KeyCount>2</KeyCount>\n  <MaxKeys>2</MaxKeys>\n"
    "  <Delimiter>/</Delimiter>\n  <IsTruncated>true</IsTruncated>\n"
    "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    "</NextContinuationToken>\n"
    "  <Contents>\n    <Key>db/generations/a&amp;b</Key>\n"
    "    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
    "    <ETag>\"fba9dede5f27731c9771645a39863328\"</ETag>\n"
    "    <Size>434234</Size>\n    <StorageClass>STANDARD</StorageClass>\n"
    "  </Contents>\n"
    "  <Contents><Key>db/generations/x y</Key>"
    "<LastModified>2024-01-02T03:04:05.123456789Z</LastModified>"
    "<Size>0</Size></Contents>\n"
    "  <CommonPrefixes><Prefix>db/generations/0123456789abcdef/</Prefix>"
    "</CommonPrefixes>\n"
    "  <CommonPrefixes><Prefix>db/generations/fedcba9876543210/</Prefix>"
    "</CommonPrefixes>\n"
    "</ListBucketResult>";

/* ListObjects v1 as s3rver 3.7.1 writes it (its own xmlns, Owner). */
static const char s3rver_v1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\">"
    "<Name>b</Name><Prefix>p/</Prefix><Marker></Marker>"
    "<NextMarker>p/k2</NextMarker><MaxKeys>2</MaxKeys>"
    "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/k1</Key><LastModified>2024-05-06T07:08:09.010Z"
    "</LastModified><ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag>"
    "<Size>5</Size><Owner><ID>123456789000</ID><DisplayName>S3rver"
    "</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>p/k2</Key><LastModified>2024-05-06T07:08:09Z"
    "</LastModified><Size>6</Size></Contents>"
    "</ListBucketResult>";

TEST(list_aws_v2)
{
	struct s3xml_list l;
	char err[256];

	ASSERT_INT_EQ(s3xml_parse_list(S(aws_v2), &l, err, sizeof(err)), 0);
	ASSERT_INT_EQ(l.nobjects, 2);
	ASSERT_STR_EQ(l.objects[0].key, "db/generations/a&b");
	ASSERT_INT_EQ(l.objects[0].size, 434234);
	ASSERT_INT_EQ(l.objects[0].last_modified, 1255369830LL * 1000000000);
	ASSERT_STR_EQ(l.objects[1].key, "db/generations/x y");
	ASSERT_INT_EQ(l.objects[1].last_modified,
	    1704164645LL * 1000000000 + 123456789);
	ASSERT_INT_EQ(l.nprefixes, 2);
	ASSERT_STR_EQ(l.prefixes[1], "db/generations/fedcba9876543210/");
	ASSERT(l.is_truncated);
	ASSERT_STR_EQ(l.next_token,
	    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	ASSERT(l.next_marker == NULL);
	s3xml_list_free(&l);
}

TEST(list_s3rver_v1)
{
	struct s3xml_list l;
	char err[256];

	ASSERT_INT_EQ(s3xml_parse_list(S(s3rver_v1), &l, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(l.nobjects, 2);
	ASSERT_STR_EQ(l.objects[1].key, "p/k2");
	ASSERT_INT_EQ(l.objects[1].size, 6);
	ASSERT_INT_EQ(l.objects[0].last_modified,
	    1714979289LL * 1000000000 + 10000000);
	ASSERT_STR_EQ(l.next_marker, "p/k2");
	ASSERT(l.next_token == NULL);
	ASSERT(l.is_truncated);
	ASSERT_INT_EQ(l.nprefixes, 0);
	s3xml_list_free(&l);
}

TEST(list_empty_and_bad_fields)
{
	struct s3xml_list l;
	char err[256];

	ASSERT_INT_EQ(s3xml_parse_list(S("<ListBucketResult><Name>b</Name>"
	    "<IsTruncated>false</IsTruncated></ListBucketResult>"), &l, err,
	    sizeof(err)), 0);
	ASSERT_INT_EQ(l.nobjects, 0);
	ASSERT(!l.is_truncated);
	s3xml_list_free(&l);
	ASSERT_INT_EQ(s3xml_parse_list(S("<ListBucketResult><Contents><Key>k"
	    "</Key><Size>-1</Size></Contents></ListBucketResult>"), &l, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "bad <Size>") != NULL);
	ASSERT_INT_EQ(s3xml_parse_list(S("<ListBucketResult><Contents><Key>k"
	    "</Key><Size>1</Size><LastModified>yesterday</LastModified>"
	    "</Contents></ListBucketResult>"), &l, err, sizeof(err)), -1);
	ASSERT(strstr(err, "LastModified") != NULL);
	ASSERT_INT_EQ(s3xml_parse_list(S("<ListBucketResult><Contents><Size>1"
	    "</Size></Contents></ListBucketResult>"), &l, err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "without <Key>") != NULL);
	ASSERT_INT_EQ(s3xml_parse_list(S("<ListBucketResult><IsTruncated>yes"
	    "</IsTruncated></ListBucketResult>"), &l, err, sizeof(err)), -1);
	ASSERT_INT_EQ(l.nobjects, 0);
	ASSERT(l.objects == NULL);
}

TEST(error_bodies)
{
	struct s3xml_error e;
	char err[256];

	ASSERT_INT_EQ(s3xml_parse_error(S(
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
	    "<Code>SignatureDoesNotMatch</Code><Message>The request signature "
	    "we calculated does not match the signature you provided."
	    "</Message><AWSAccessKeyId>AKIA</AWSAccessKeyId><StringToSign>x"
	    "</StringToSign><RequestId>4442587FB7D0A2F9</RequestId><HostId>h"
	    "</HostId></Error>"), &e, err, sizeof(err)), 0);
	ASSERT_STR_EQ(e.code, "SignatureDoesNotMatch");
	ASSERT(strncmp(e.message, "The request signature", 21) == 0);
	ASSERT_STR_EQ(e.request_id, "4442587FB7D0A2F9");
	/* s3rver's shape: Resource and a bucket name. */
	ASSERT_INT_EQ(s3xml_parse_error(S(
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket"
	    "</Code><Message>The specified bucket does not exist</Message>"
	    "<BucketName>nope</BucketName><Resource>/nope/k</Resource>"
	    "<RequestId>2</RequestId></Error>"), &e, err, sizeof(err)), 0);
	ASSERT_STR_EQ(e.code, "NoSuchBucket");
	ASSERT_STR_EQ(e.resource, "/nope/k");
	ASSERT_INT_EQ(s3xml_parse_error(S("<Error><Message>m</Message></Error>"),
	    &e, err, sizeof(err)), -1);
	ASSERT(strstr(err, "no <Code>") != NULL);
	ASSERT_INT_EQ(s3xml_parse_error(S("<html><body>502 Bad Gateway</body>"
	    "</html>"), &e, err, sizeof(err)), -1);
	ASSERT(strstr(err, "unexpected root element <html>") != NULL);
}

TEST(delete_result)
{
	struct s3xml_delete d;
	char err[256];

	ASSERT_INT_EQ(s3xml_parse_delete(S(
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Deleted><Key>a</Key></Deleted><Deleted><Key>b</Key></Deleted>"
	    "<Error><Key>c&lt;1</Key><Code>AccessDenied</Code><Message>Access "
	    "Denied</Message></Error></DeleteResult>"), &d, err, sizeof(err)),
	    0);
	ASSERT_INT_EQ(d.ndeleted, 2);
	ASSERT_INT_EQ(d.nerrors, 1);
	ASSERT_STR_EQ(d.errors[0].key, "c<1");
	ASSERT_STR_EQ(d.errors[0].code, "AccessDenied");
	ASSERT_STR_EQ(d.errors[0].message, "Access Denied");
	s3xml_delete_free(&d);
	ASSERT_INT_EQ(s3xml_parse_delete(S("<DeleteResult/>"), &d, err,
	    sizeof(err)), 0);
	ASSERT_INT_EQ(d.ndeleted + d.nerrors, 0);
	s3xml_delete_free(&d);
}

TEST(multipart)
{
	struct s3xml_error e;
	char err[256], *id;

	ASSERT_INT_EQ(s3xml_parse_initiate(S(
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIEl"
	    "EIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
	    "</InitiateMultipartUploadResult>"), &id, err, sizeof(err)), 0);
	ASSERT_STR_EQ(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVw"
	    "bG9hZA");
	free(id);
	ASSERT_INT_EQ(s3xml_parse_initiate(S("<InitiateMultipartUploadResult>"
	    "</InitiateMultipartUploadResult>"), &id, err, sizeof(err)), -1);
	ASSERT(id == NULL);
	ASSERT_INT_EQ(s3xml_parse_complete(S(
	    "<CompleteMultipartUploadResult><Location>http://x/b/k</Location>"
	    "<Bucket>b</Bucket><Key>k</Key><ETag>\"3858f62230ac3c915f300c66"
	    "4312c11f-9\"</ETag></CompleteMultipartUploadResult>"), &e, err,
	    sizeof(err)), 0);
	/* The 200 OK that is an error (S3 sends it mid-completion). */
	ASSERT_INT_EQ(s3xml_parse_complete(S(
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>"
	    "InternalError</Code><Message>We encountered an internal error. "
	    "Please try again.</Message><RequestId>656c76696e6727732072657175"
	    "657374</RequestId></Error>"), &e, err, sizeof(err)), 1);
	ASSERT_STR_EQ(e.code, "InternalError");
	ASSERT_INT_EQ(s3xml_parse_complete(S("<Other/>"), &e, err,
	    sizeof(err)), -1);
}

TEST(times)
{
	int64_t ns;

	ASSERT_INT_EQ(s3xml_parse_time("1970-01-01T00:00:00Z", &ns), 0);
	ASSERT_INT_EQ(ns, 0);
	ASSERT_INT_EQ(s3xml_parse_time("1970-01-01T01:00:00.5+01:00", &ns), 0);
	ASSERT_INT_EQ(ns, 500000000);
	ASSERT_INT_EQ(s3xml_parse_time("2024-02-29T23:59:59.999999999999Z",
	    &ns), 0);
	ASSERT_INT_EQ(ns, 1709251199LL * 1000000000 + 999999999);
	ASSERT_INT_EQ(s3xml_parse_time("2024-02-29 23:59:59Z", &ns), -1);
	ASSERT_INT_EQ(s3xml_parse_time("2024-13-01T00:00:00Z", &ns), -1);
	ASSERT_INT_EQ(s3xml_parse_time("2024-01-01T00:00:00.Z", &ns), -1);
	ASSERT_INT_EQ(s3xml_parse_time("2024-01-01T00:00:00", &ns), -1);
	ASSERT_INT_EQ(s3xml_parse_time("2024-01-01T00:00:00Zjunk", &ns), -1);
	ASSERT_INT_EQ(s3xml_parse_time("", &ns), -1);
}

TEST(hostile_entities)
{
	struct s3xml_list l;
	struct s3xml_error e;
	char err[256];

	ASSERT_INT_EQ(s3xml_parse_error(S(
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    "]>\n<Error><Code>&lol3;</Code></Error>"), &e, err, sizeof(err)),
	    -1);
	ASSERT(strstr(err, "not allowed") != NULL);
	ASSERT_INT_EQ(s3xml_parse_list(S(
	    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]><ListBucketResult><Contents><Key>&x;"
	    "</Key><Size>1</Size></Contents></ListBucketResult>"), &l, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "not allowed") != NULL);
	/* An undeclared entity is a plain XML error. */
	ASSERT_INT_EQ(s3xml_parse_error(S("<Error><Code>&x;</Code></Error>"),
	    &e, err, sizeof(err)), -1);
	ASSERT(strstr(err, "malformed XML") != NULL);
}

TEST(hostile_sizes)
{
	struct s3xml_list l;
	struct s3xml_error e;
	char err[256], *doc;
	size_t n, len;

	/* Over the document cap: refused before parsing. */
	len = S3XML_MAX_DOC + 1;
	doc = malloc(len);
	ASSERT(doc != NULL);
	memset(doc, ' ', len);
	ASSERT_INT_EQ(s3xml_parse_list(doc, len, &l, err, sizeof(err)), -1);
	ASSERT(strstr(err, "exceeds") != NULL);
	/* Too many elements, within the size cap. */
	n = S3XML_MAX_ELEMENTS + 10;
	len = 0;
	len += (size_t)sprintf(doc, "<ListBucketResult>");
	for (size_t i = 0; i < n; i++) {
		memcpy(doc + len, "<a/>", 4);
		len += 4;
	}
	len += (size_t)sprintf(doc + len, "</ListBucketResult>");
	ASSERT_INT_EQ(s3xml_parse_list(doc, len, &l, err, sizeof(err)), -1);
	ASSERT(strstr(err, "elements") != NULL);
	/* A huge text node. */
	len = (size_t)sprintf(doc, "<Error><Code>");
	memset(doc + len, 'A', S3XML_MAX_TEXT + 10);
	len += S3XML_MAX_TEXT + 10;
	len += (size_t)sprintf(doc + len, "</Code></Error>");
	ASSERT_INT_EQ(s3xml_parse_error(doc, len, &e, err, sizeof(err)), -1);
	ASSERT(strstr(err, "longer than") != NULL);
	/* Too deep. */
	len = 0;
	for (int i = 0; i < 100; i++)
		len += (size_t)sprintf(doc + len, "<Error>");
	ASSERT_INT_EQ(s3xml_parse_error(doc, len, &e, err, sizeof(err)), -1);
	ASSERT(strstr(err, "deeper") != NULL);
	free(doc);
}

TEST(hostile_truncated)
{
	struct s3xml_list l;
	struct s3xml_delete d;
	char err[256], *id;

	/* Every prefix of a real page is an error, never a crash or leak. */
	for (size_t n = 0; n < sizeof(aws_v2) - 1; n++) {
		int rc = s3xml_parse_list(aws_v2, n, &l, err, sizeof(err));

		ASSERT_INT_EQ(rc, -1);
		ASSERT(l.objects == NULL);
	}
	ASSERT(strstr(err, "malformed XML") != NULL);
	ASSERT_INT_EQ(s3xml_parse_delete(S("<DeleteResult><Error><Key>a</Key>"),
	    &d, err, sizeof(err)), -1);
	ASSERT_INT_EQ(s3xml_parse_initiate(S(""), &id, err, sizeof(err)), -1);
	ASSERT_INT_EQ(s3xml_parse_list(S("<ListBucketResult></Wrong>"), &l, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3xml_parse_list(S("\x00\x01\x02garbage"), &l, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3xml_parse_list(S("<Error><Code>NoSuchKey</Code>"
	    "</Error>"), &l, err, sizeof(err)), -1);
	ASSERT(strstr(err, "want <ListBucketResult>") != NULL);
}

TEST(build_bodies)
{
	const char *keys[] = { "a/b", "x&<y>\"'" };
	const char *etags[] = { "\"e1\"", "\"e2\"" };
	struct s3xml_error e;
	size_t len;
	char *s, err[128];

	s = s3xml_build_delete(keys, 2, true, &len);
	ASSERT(s != NULL);
	ASSERT_INT_EQ(len, strlen(s));
	ASSERT(strstr(s, "<Delete xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Object><Key>a/b</Key></Object><Object><Key>"
	    "x&amp;&lt;y&gt;&quot;&apos;</Key></Object><Quiet>true</Quiet>"
	    "</Delete>") != NULL);
	/* The body parses back (as a well-formed document). */
	ASSERT_INT_EQ(s3xml_parse_error(s, len, &e, err, sizeof(err)), -1);
	ASSERT(strstr(err, "want <Error>") != NULL);
	free(s);
	s = s3xml_build_complete(etags, 2, &len);
	ASSERT(s != NULL);
	ASSERT(strstr(s, "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;"
	    "</ETag></Part><Part><PartNumber>2</PartNumber>") != NULL);
	free(s);
}

int
main(void)
{
	RUN(list_aws_v2);
	RUN(list_s3rver_v1);
	RUN(list_empty_and_bad_fields);
	RUN(error_bodies);
	RUN(delete_result);
	RUN(multipart);
	RUN(times);
	RUN(hostile_entities);
	RUN(hostile_sizes);
	RUN(hostile_truncated);
	RUN(build_bodies);
	return TEST_DONE();
}
