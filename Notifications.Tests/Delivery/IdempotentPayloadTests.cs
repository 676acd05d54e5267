using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Sending;
using Notifications.Domain;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// An Idempotency-Key's payload is what would be stored, not how it was spelled: a retry through another serializer
/// gets the first answer, a real difference is still a conflict, and a send stored with the hash made before the
/// upgrade is still answered. Over real Kestrel, on SQLite and PostgreSQL.
/// </summary>
public abstract class IdempotentPayloadTests(GuaranteesFixture service)
{
    private const string Sender = "idem-payload-sender";

    // {T} is the test's unique title, {U} and {V} its users ({V-upper} the second in upper case), {R} its role.
    private const string Base = """
        {"type":"test.idem","title":"{T}","body":"On its way","priority":"high","expiresAt":"2090-01-01T00:00:00Z",
         "data":{"orderId":1234,"items":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"note":"café"},
         "audience":{"users":["{U}","{V}"],"roles":["{R}"]}}
        """;

    private const string Respelled = """
        { "audience" : { "roles" : [ "{R}" ], "users" : [ "{V}", "{U}", "{V}" ], "groups" : [ ], "everyone" : false },
          "data" : { "note" : "caf\u00e9", "items" : [ { "qty" : 2, "sku" : "a" }, { "qty" : 1, "sku" : "\u0062" } ], "orderId" : 1234 },
          "expiresAt" : "2090-01-01T01:00:00+01:00", "priority" : "high", "body" : "On its way", "title" : "{T}", "type" : "test.idem" }
        """;

    private const string Compact = """
        {"type":"test.idem","title":"{T}","body":"On its way","priority":"high","expiresAt":"2090-01-01T00:00:00.0000000+00:00",
        "data":{"items":[{"qty":2,"sku":"a"},{"qty":1,"sku":"b"}],"note":"caf\u00E9","orderId":1234},"audience":{"roles":["{R}","{R}"],"users":["{V}","{U}"]}}
        """;

    private const string Minimal = """{"type":"test.idem","title":"{T}","audience":{"users":["{U}"]}}""";

    public static TheoryData<string, string, string> Respellings() => new()
    {
        { "property order, white space, escapes, audience order and a duplicate, expiresAt's offset", Base, Respelled },
        { "priority missing and normal", Minimal, """{"type":"test.idem","title":"{T}","priority":"normal","audience":{"users":["{U}"]}}""" },
        {
            "every default spelled out: null, empty lists, false",
            Minimal,
            """{"type":"test.idem","title":"{T}","body":null,"data":null,"expiresAt":null,"audience":{"users":["{U}"],"roles":[],"groups":[],"everyone":false}}"""
        },
        { "users in another order, repeated", """{"type":"test.idem","title":"{T}","audience":{"users":["{U}","{V}"]}}""", """{"type":"test.idem","title":"{T}","audience":{"users":["{V}","{U}","{V}","{U}"]}}""" },
        {
            "expiresAt apart by less than the microsecond the store keeps",
            """{"type":"test.idem","title":"{T}","expiresAt":"2090-01-01T00:00:00.000001Z","audience":{"users":["{U}"]}}""",
            """{"type":"test.idem","title":"{T}","expiresAt":"2090-01-01T00:00:00.0000019Z","audience":{"users":["{U}"]}}"""
        },
    };

    public static TheoryData<string, string> Differences() => new()
    {
        { "type", Base.Replace("test.idem", "test.other", StringComparison.Ordinal) },
        { "title", Base.Replace("{T}", "{T} (changed)", StringComparison.Ordinal) },
        { "body", Base.Replace("On its way", "On its way.", StringComparison.Ordinal) },
        { "data value", Base.Replace("\"qty\":2", "\"qty\":3", StringComparison.Ordinal) },
        { "data number text", Base.Replace("1234", "1234.0", StringComparison.Ordinal) },
        { "priority", Base.Replace("\"high\"", "\"critical\"", StringComparison.Ordinal) },
        { "expiry instant", Base.Replace("2090-01-01T00:00:00Z", "2090-01-01T00:00:00.000001Z", StringComparison.Ordinal) },
        { "another audience member", Base.Replace("\"{V}\"]", "\"{V}\",\"{U}-2\"]", StringComparison.Ordinal) },
        { "a user in upper case", Base.Replace("\"{V}\"", "\"{V-upper}\"", StringComparison.Ordinal) },
        { "everyone", Base.Replace("\"roles\":[\"{R}\"]", "\"roles\":[\"{R}\"],\"everyone\":true", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(Respellings))]
    public async Task A_respelled_retry_gets_the_first_answer_and_one_notification_is_stored(string what, string first, string retry)
    {
        var send = new Send(service);

        var original = await send.PostAsync(first);
        var replay = await send.PostAsync(retry);

        Assert.Equal(HttpStatusCode.Created, original.Status);
        Assert.True(replay.Status == HttpStatusCode.Created, $"{what}: {replay.Status} {replay.Body}");
        Assert.Equal(original.Body, replay.Body);
        Assert.True(replay.Replayed);
        Assert.Equal(1, await send.StoredAsync());
    }

    [Theory]
    [MemberData(nameof(Differences))]
    public async Task A_real_difference_is_still_a_conflict(string what, string changed)
    {
        var send = new Send(service);
        var original = await send.PostAsync(Base);
        var replay = await send.PostAsync(Respelled);

        var conflict = await send.PostAsync(changed);

        Assert.Equal(HttpStatusCode.Created, original.Status);
        Assert.Equal((HttpStatusCode.Created, original.Body), (replay.Status, replay.Body));
        Assert.True(conflict.Status == HttpStatusCode.Conflict, $"{what}: {conflict.Status} {conflict.Body}");
        Assert.Equal(1, await send.StoredAsync());
    }

    [Fact]
    public async Task Concurrent_retries_spelled_three_ways_get_one_answer()
    {
        var send = new Send(service);
        string[] spellings = [Base, Respelled, Compact];

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => send.PostAsync(spellings[i % spellings.Length]))))
            .WithTimeout(TimeSpan.FromSeconds(60), "30 concurrent sends");

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        Assert.Single(responses.Select(r => r.Body).Distinct());
        Assert.Equal(29, responses.Count(r => r.Replayed));
        Assert.Equal(1, await send.StoredAsync());
    }

    [Fact]
    public async Task A_respelled_retry_after_its_expiresAt_has_passed_is_replayed()
    {
        var send = new Send(service);
        var expiresAt = service.Clock.GetUtcNow().UtcDateTime.AddMinutes(1);
        var first = Minimal.Replace("\"title\"", $"\"expiresAt\":\"{expiresAt.ToString("O", CultureInfo.InvariantCulture)}\",\"title\"", StringComparison.Ordinal);
        var inParis = new DateTimeOffset(expiresAt).ToOffset(TimeSpan.FromHours(2)).ToString("O", CultureInfo.InvariantCulture);
        var retry = $$"""{ "audience": { "users": ["{U}", "{U}"] }, "priority": "normal", "expiresAt": "{{inParis}}", "title": "{T}", "type": "test.idem" }""";
        var original = await send.PostAsync(first);
        Assert.Equal(HttpStatusCode.Created, original.Status);

        service.Clock.Advance(TimeSpan.FromMinutes(2));
        var late = await send.PostAsync(retry);

        Assert.Equal((HttpStatusCode.Created, original.Body, true), (late.Status, late.Body, late.Replayed));
        Assert.Equal(1, await send.StoredAsync());

        // Stored as every provider keeps it, so the instant that was hashed is the one stored.
        var id = JsonSerializer.Deserialize<SendResult>(original.Body, DeliveryFixture.Json)!.Id;
        var stored = await service.QueryAsync(db => db.Notifications.Where(n => n.Id == id).Select(n => n.ExpiresAt).SingleAsync());
        Assert.Equal(StoredTime.ToWholeMicroseconds(expiresAt), stored);
    }

    [Fact]
    public async Task A_send_stored_with_the_legacy_hash_is_still_replayed_by_the_same_request()
    {
        var send = new Send(service);
        using var data = JsonDocument.Parse("""{"orderId":7,"tags":["a","b"]}""");
        var request = new SendNotificationRequest
        {
            Type = "test.idem",
            Title = send.Title,
            Body = "before the upgrade",
            Data = data.RootElement,
            Priority = "high",
            ExpiresAt = service.Clock.GetUtcNow().UtcDateTime.AddMinutes(1),
            Audience = new AudienceRequest { Users = [send.User] },
        };
        var original = await send.PostAsync(JsonContent.Create(request));
        Assert.Equal(HttpStatusCode.Created, original.Status);
        var id = JsonSerializer.Deserialize<SendResult>(original.Body, DeliveryFixture.Json)!.Id;

        // As the sender stored it before the fingerprint: the hash of the request as the server bound it, which here
        // serializes as the test's own object does.
        var legacy = RequestFingerprint.LegacyHashOf(request);
        Assert.Equal(1, await service.QueryAsync(db => db.Notifications.Where(n => n.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(n => n.RequestHash, legacy))));

        var replay = await send.PostAsync(JsonContent.Create(request));
        var changed = await send.PostAsync(JsonContent.Create(request with { Title = send.Title + " (changed)" }));
        service.Clock.Advance(TimeSpan.FromMinutes(2));
        var late = await send.PostAsync(JsonContent.Create(request));

        Assert.Equal((HttpStatusCode.Created, original.Body, true), (replay.Status, replay.Body, replay.Replayed));
        Assert.Equal(HttpStatusCode.Conflict, changed.Status);
        Assert.Equal((HttpStatusCode.Created, original.Body, true), (late.Status, late.Body, late.Replayed));
        Assert.Equal(1, await send.StoredAsync());
        Assert.Equal(legacy, await service.QueryAsync(db => db.Notifications.Where(n => n.Id == id).Select(n => n.RequestHash).SingleAsync()));
    }

    private sealed record Response(HttpStatusCode Status, string Body, bool Replayed);

    /// <summary>One test's sends: its own key, title, users and role, filled into the templates.</summary>
    private sealed class Send(GuaranteesFixture service)
    {
        private readonly string key = Guid.NewGuid().ToString();

        public string Title { get; } = $"idem {Guid.NewGuid():N}";

        public string User { get; } = TestUsers.New("idem-u");

        private string OtherUser { get; } = TestUsers.New("idem-v");

        private string Role { get; } = TestUsers.New("idem-r");

        public Task<Response> PostAsync(string template)
        {
            var json = template.Replace("{T}", Title, StringComparison.Ordinal).Replace("{U}", User, StringComparison.Ordinal)
                .Replace("{V-upper}", OtherUser.ToUpperInvariant(), StringComparison.Ordinal)
                .Replace("{V}", OtherUser, StringComparison.Ordinal).Replace("{R}", Role, StringComparison.Ordinal);
            return PostAsync(new StringContent(json, Encoding.UTF8, "application/json"));
        }

        public async Task<Response> PostAsync(HttpContent content)
        {
            using var http = service.LongClient(Sender, "admin");
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/notifications") { Content = content };
            request.Headers.Add(SendEndpoints.IdempotencyKeyHeader, key);
            using var response = await http.SendAsync(request).WithTimeout(what: "a send");
            var body = await response.Content.ReadAsStringAsync();
            return new Response(response.StatusCode, body, response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Single() == "true");
        }

        public Task<int> StoredAsync() => service.QueryAsync(db => db.Notifications.CountAsync(n => n.Title.StartsWith(Title)));
    }
}

public sealed class SqliteIdempotentPayloadTests(SqliteGuaranteesFixture service) : IdempotentPayloadTests(service), IClassFixture<SqliteGuaranteesFixture>;

public sealed class PostgresIdempotentPayloadTests(PostgresGuaranteesFixture service) : IdempotentPayloadTests(service), IClassFixture<PostgresGuaranteesFixture>;
