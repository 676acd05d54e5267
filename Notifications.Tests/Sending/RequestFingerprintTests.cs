using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Sending;
using Notifications.Infrastructure.Data;

namespace Notifications.Tests.Sending;

/// <summary>
/// An Idempotency-Key's payload is compared as it would be stored: respellings of one send share a fingerprint, and
/// any difference in what is stored gives another.
/// </summary>
public sealed class RequestFingerprintTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private const string Base = """
        {"type":"order.shipped","title":"Shipped","body":"On its way","priority":"high","expiresAt":"2090-01-01T00:00:00Z",
         "data":{"orderId":1234,"items":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"note":"café"},
         "audience":{"users":["alice","bob"],"roles":["ops"],"groups":["crew"]}}
        """;

    private const string Minimal = """{"type":"t.x","title":"Hi","audience":{"users":["alice"]}}""";

    public static TheoryData<string, string> SameSend() => new()
    {
        {
            Base,
            """
            { "audience" : { "groups" : ["crew"], "roles" : ["ops"], "users" : ["alice", "bob"] },
              "data" : { "note" : "caf\u00e9", "items" : [ { "qty" : 2, "sku" : "a" }, { "qty" : 1, "sku" : "b" } ], "orderId" : 1234 },
              "expiresAt" : "2090-01-01T00:00:00Z", "priority" : "high", "body" : "On its way", "title" : "\u0053hipped", "type" : "order.shipped" }
            """
        },
        { Minimal, """{"type":"t.x","title":"Hi","priority":"normal","audience":{"users":["alice"]}}""" },
        { Minimal, """{"type":"t.x","title":"Hi","body":null,"data":null,"expiresAt":null,"audience":{"users":["alice"]}}""" },
        { Minimal, """{"type":"t.x","title":"Hi","audience":{"users":["alice"],"roles":[],"groups":[],"everyone":false}}""" },
        { Minimal, """{"type":"t.x","title":"Hi","audience":{"users":["alice","alice"," alice ",""]}}""" },
        {
            """{"type":"t.x","title":"Hi","audience":{"users":["b","a"],"roles":["y","x"],"groups":["g2","g1"]}}""",
            """{"type":"t.x","title":"Hi","audience":{"groups":["g1","g2","g1"],"roles":["x","y","x"],"users":["a","b","a"]}}"""
        },
        {
            """{"type":"t.x","title":"Hi","expiresAt":"2090-01-01T00:00:00Z","audience":{"users":["alice"]}}""",
            """{"type":"t.x","title":"Hi","expiresAt":"2090-01-01T01:00:00+01:00","audience":{"users":["alice"]}}"""
        },
        {
            """{"type":"t.x","title":"Hi","expiresAt":"2090-01-01T00:00:00.000001Z","audience":{"users":["alice"]}}""",
            """{"type":"t.x","title":"Hi","expiresAt":"2090-01-01T00:00:00.0000019Z","audience":{"users":["alice"]}}"""
        },
        {
            """{"type":"t.x","title":"Hi","audience":{"everyone":true}}""",
            """{"type":"t.x","title":"Hi","audience":{"everyone":true,"users":[]}}"""
        },
    };

    public static TheoryData<string, string, string> DifferentSend() => new()
    {
        { "type", Base, Base.Replace("order.shipped", "order.sent", StringComparison.Ordinal) },
        { "title", Base, Base.Replace("\"Shipped\"", "\"Shipped!\"", StringComparison.Ordinal) },
        { "body", Base, Base.Replace("On its way", "On its way.", StringComparison.Ordinal) },
        { "body empty instead of missing", Minimal, Minimal.Replace("\"Hi\"", "\"Hi\",\"body\":\"\"", StringComparison.Ordinal) },
        { "priority", Base, Base.Replace("\"high\"", "\"critical\"", StringComparison.Ordinal) },
        { "priority low instead of missing", Minimal, Minimal.Replace("\"Hi\"", "\"Hi\",\"priority\":\"low\"", StringComparison.Ordinal) },
        { "expiry instant", Base, Base.Replace("2090-01-01T00:00:00Z", "2090-01-01T00:00:00.000001Z", StringComparison.Ordinal) },
        { "expiry missing", Base, Base.Replace("\"expiresAt\":\"2090-01-01T00:00:00Z\",", string.Empty, StringComparison.Ordinal) },
        { "data value", Base, Base.Replace("\"qty\":2", "\"qty\":3", StringComparison.Ordinal) },
        { "data number text", Base, Base.Replace("1234", "1234.0", StringComparison.Ordinal) },
        { "data array order", Base, Base.Replace("""{"sku":"a","qty":2},{"sku":"b","qty":1}""", """{"sku":"b","qty":1},{"sku":"a","qty":2}""", StringComparison.Ordinal) },
        { "data key", Base, Base.Replace("\"note\"", "\"Note\"", StringComparison.Ordinal) },
        { "data empty instead of missing", Minimal, Minimal.Replace("\"Hi\"", "\"Hi\",\"data\":{}", StringComparison.Ordinal) },
        { "another user", Base, Base.Replace("\"bob\"]", "\"bob\",\"carol\"]", StringComparison.Ordinal) },
        { "a user's case", Base, Base.Replace("\"bob\"", "\"Bob\"", StringComparison.Ordinal) },
        { "a user named as a role", Base, Base.Replace("""["alice","bob"],"roles":["ops"]""", """["alice"],"roles":["bob","ops"]""", StringComparison.Ordinal) },
        { "a group named as a role", Base, Base.Replace("""["ops"],"groups":["crew"]""", """["crew","ops"],"groups":[]""", StringComparison.Ordinal) },
        { "everyone", Base, Base.Replace("\"groups\":[\"crew\"]", "\"groups\":[\"crew\"],\"everyone\":true", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(SameSend))]
    public void Respellings_of_one_send_have_one_fingerprint(string first, string second)
    {
        Assert.Equal(CanonicalFormOf(first), CanonicalFormOf(second));
        Assert.Equal(FingerprintOf(first), FingerprintOf(second));
    }

    [Theory]
    [MemberData(nameof(DifferentSend))]
    public void A_difference_in_what_is_stored_changes_the_fingerprint(string what, string baseline, string changed)
    {
        Assert.True(CanonicalFormOf(baseline) != CanonicalFormOf(changed), $"{what}: the same canonical form");
        Assert.True(FingerprintOf(baseline) != FingerprintOf(changed), $"{what}: the same fingerprint");
    }

    [Fact]
    public void The_canonical_form_lists_each_stored_field_once_with_sorted_audience_sets()
    {
        var form = CanonicalFormOf("""
            {"title":"Hi","type":"t.x","expiresAt":"2090-01-01T01:00:00.1234567+01:00",
             "audience":{"users":["b"," a","b"],"groups":["g"],"everyone":true}}
            """);

        Assert.Equal(
            """{"type":"t.x","title":"Hi","body":null,"data":null,"priority":"normal","expiresAt":"2090-01-01T00:00:00.123456Z","everyone":true,"users":["a","b"],"roles":[],"groups":["g"]}""",
            form);
    }

    [Fact]
    public void Data_objects_are_sorted_at_every_depth_and_arrays_keep_their_order()
    {
        var canonical = CanonicalJsonOf("""
            { "b" : { "d" : 1, "c" : [ 3, 1, { "z" : true, "y" : null } ] },
              "a" : [ { "k" : [ 2, 1 ], "j" : { "n" : 1, "m" : 2 } } ] }
            """);

        Assert.Equal("""{"a":[{"j":{"m":2,"n":1},"k":[2,1]}],"b":{"c":[3,1,{"y":null,"z":true}],"d":1}}""", canonical);
    }

    [Fact]
    public void Property_names_sort_ordinally_by_their_unescaped_text()
    {
        var canonical = CanonicalJsonOf("""{"b":1,"\u00e9":2,"B":3,"_":4,"a\u0061":5,"10":6,"9":7,"a":8}""");

        Assert.Equal("""{"10":6,"9":7,"B":3,"_":4,"a":8,"aa":5,"b":1,"\u00E9":2}""", canonical);
        Assert.Equal(canonical, CanonicalJsonOf("""{"a":8,"aa":5,"é":2,"9":7,"10":6,"_":4,"B":3,"b":1}"""));
    }

    [Fact]
    public void Strings_are_written_again_one_way_whatever_their_escapes()
    {
        string[] spellings =
        [
            """{"s":"café / \"q\" \\ 😀\t<>\u2028"}""",
            """{"s":"caf\u00e9 \/ \u0022q\u0022 \u005c \ud83d\ude00\u0009\u003c\u003E\u2028"}""",
            """{"s":"caf\u00E9 / \"q\" \\ \uD83D\uDE00\t<>\u2028"}""",
        ];

        var canonical = spellings.Select(CanonicalJsonOf).Distinct().ToList();

        Assert.Equal(["""{"s":"caf\u00E9 / \u0022q\u0022 \\ \uD83D\uDE00\t\u003C\u003E\u2028"}"""], canonical);
    }

    [Fact]
    public void Numbers_keep_their_text_and_other_values_their_kind()
    {
        Assert.Equal("""{"a":1.0,"b":1E2,"c":-0,"d":true,"e":false,"f":null,"g":"1"}""",
            CanonicalJsonOf("""{ "g":"1", "f":null, "e":false, "d":true, "c":-0, "b":1E2, "a":1.0 }"""));
        Assert.NotEqual(CanonicalJsonOf("""{"n":1.0}"""), CanonicalJsonOf("""{"n":1}"""));
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    [InlineData("SqlServer")]
    public void A_fingerprint_is_marked_and_fits_the_RequestHash_column(string provider)
    {
        using NotificationsDbContext db = provider switch
        {
            "Sqlite" => new SqliteNotificationsDbContext(new DbContextOptionsBuilder<SqliteNotificationsDbContext>().UseSqlite("Data Source=:memory:").Options),
            "Postgres" => new PostgresNotificationsDbContext(new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql("Host=localhost").Options),
            _ => new SqlServerNotificationsDbContext(new DbContextOptionsBuilder<SqlServerNotificationsDbContext>().UseSqlServer("Server=localhost").Options),
        };
        var column = db.Model.FindEntityType(typeof(Notification))!.FindProperty(nameof(Notification.RequestHash))!.GetMaxLength();

        var fingerprint = FingerprintOf(Base);

        Assert.StartsWith(RequestFingerprint.Prefix, fingerprint, StringComparison.Ordinal);
        Assert.False(RequestFingerprint.IsLegacy(fingerprint));
        Assert.InRange(fingerprint.Length, 1, column!.Value);
    }

    [Fact]
    public void The_legacy_hash_is_the_one_stored_before_the_fingerprint()
    {
        var request = Parse(Base);

        var legacy = RequestFingerprint.LegacyHashOf(request);

        // SHA-256 of {"Type":"order.shipped","Title":"Shipped",…,"Audience":{…,"Everyone":false}} as System.Text.Json writes
        // it by default ("caf\u00E9" in Data), what the sender's HashOf stored before the fingerprint replaced it.
        Assert.Equal("BFC9D2E614C1D1B8707C2CA4080855E4DF1294A848FF6CD64EE41174CD30A367", legacy);
        Assert.True(RequestFingerprint.IsLegacy(legacy));
    }

    private static SendNotificationRequest Parse(string json) => JsonSerializer.Deserialize<SendNotificationRequest>(json, Web)!;

    private static string FingerprintOf(string json)
    {
        var request = Parse(json);
        return RequestFingerprint.Of(request, request.ToAudience());
    }

    private static string CanonicalFormOf(string json)
    {
        var request = Parse(json);
        return RequestFingerprint.CanonicalForm(request, request.ToAudience());
    }

    private static string CanonicalJsonOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return RequestFingerprint.CanonicalJson(document.RootElement);
    }
}
