using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Errors;
using Notifications.Api.Inbox;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// Hostile and broken input against every REST endpoint and hub method: each is refused with a 4xx ProblemDetails
/// or a HubException that says what is wrong, never a 5xx or an unhandled exception, the server stays up, and a
/// refused request leaves the database exactly as it was. Runs on SQLite and on PostgreSQL (which, unlike SQLite,
/// refuses some text outright, such as NUL characters).
/// </summary>
public abstract class BadInputCorpusTests(ServiceFixture service)
{
    private const string Admin = "corpus-admin";
    private const string OpenGroup = "corpus-open";
    private static readonly string Deep = new string('[', 100) + new string(']', 100);

    /// <summary>Send bodies (POST /api/notifications as an admin) that must all be refused.</summary>
    public static TheoryData<string> RejectedSends() => [.. SendCorpus.Keys];

    private static readonly Dictionary<string, string> SendCorpus = new()
    {
        ["empty body"] = "",
        ["not JSON"] = "hello",
        ["truncated JSON"] = """{"type":"a.b","title":""",
        ["JSON null"] = "null",
        ["JSON array"] = "[]",
        ["JSON string"] = "\"send it\"",
        ["trailing comma"] = """{"type":"a.b","title":"t","audience":{"everyone":true},}""",
        ["comment"] = """{/* hi */"type":"a.b","title":"t","audience":{"everyone":true}}""",
        ["NaN literal"] = """{"type":"a.b","title":"t","priority":NaN,"audience":{"everyone":true}}""",
        ["duplicate keys"] = """{"type":"a.b","title":"first","title":"second","audience":{"everyone":true}}""",
        ["duplicate keys in data"] = """{"type":"a.b","title":"t","data":{"a":1,"a":2},"audience":{"everyone":true}}""",
        ["missing title"] = """{"type":"a.b","audience":{"everyone":true}}""",
        ["null title"] = """{"type":"a.b","title":null,"audience":{"everyone":true}}""",
        ["null type"] = """{"type":null,"title":"t","audience":{"everyone":true}}""",
        ["null audience"] = """{"type":"a.b","title":"t","audience":null}""",
        ["title is a number"] = """{"type":"a.b","title":123,"audience":{"everyone":true}}""",
        ["title is an object"] = """{"type":"a.b","title":{"$ne":null},"audience":{"everyone":true}}""",
        ["audience is a string"] = """{"type":"a.b","title":"t","audience":"everyone"}""",
        ["everyone is a string"] = """{"type":"a.b","title":"t","audience":{"everyone":"true"}}""",
        ["users is a string"] = """{"type":"a.b","title":"t","audience":{"users":"alice"}}""",
        ["users contains null"] = """{"type":"a.b","title":"t","audience":{"users":[null]}}""",
        ["users contains a number"] = """{"type":"a.b","title":"t","audience":{"users":[42]}}""",
        ["empty audience"] = """{"type":"a.b","title":"t","audience":{}}""",
        ["audience of empty lists"] = """{"type":"a.b","title":"t","audience":{"users":[],"roles":[],"groups":[],"everyone":false}}""",
        ["1001 users"] = $$$"""{"type":"a.b","title":"t","audience":{"users":[{{{string.Join(',', Enumerable.Range(0, 1001).Select(i => $"\"u{i}\""))}}}]}}""",
        ["user id of 129 chars"] = $$$"""{"type":"a.b","title":"t","audience":{"users":["{{{new string('u', 129)}}}"]}}""",
        ["user id with a control char"] = """{"type":"a.b","title":"t","audience":{"users":["bell\u0007"]}}""",
        ["group name with markup"] = """{"type":"a.b","title":"t","audience":{"groups":["<script>"]}}""",
        ["unknown group"] = """{"type":"a.b","title":"t","audience":{"groups":["no-such-group"]}}""",
        ["empty title"] = """{"type":"a.b","title":"","audience":{"everyone":true}}""",
        ["empty type"] = """{"type":"","title":"t","audience":{"everyone":true}}""",
        ["type with upper case"] = """{"type":"Order.Shipped","title":"t","audience":{"everyone":true}}""",
        ["type with SQL"] = """{"type":"a'; DROP TABLE \"Notifications\"; --","title":"t","audience":{"everyone":true}}""",
        ["type with RTL override"] = """{"type":"a.b\u202Eexe","title":"t","audience":{"everyone":true}}""",
        ["type of 101 chars"] = $$$"""{"type":"{{{new string('a', 101)}}}","title":"t","audience":{"everyone":true}}""",
        ["title of 10,000 chars"] = $$$"""{"type":"a.b","title":"{{{new string('t', 10_000)}}}","audience":{"everyone":true}}""",
        ["body of 4,001 chars"] = $$$"""{"type":"a.b","title":"t","body":"{{{new string('b', 4001)}}}","audience":{"everyone":true}}""",
        ["priority is a number"] = """{"type":"a.b","title":"t","priority":5,"audience":{"everyone":true}}""",
        ["priority unknown"] = """{"type":"a.b","title":"t","priority":"urgent","audience":{"everyone":true}}""",
        ["expiresAt is not a time"] = """{"type":"a.b","title":"t","expiresAt":"yesterday","audience":{"everyone":true}}""",
        ["expiresAt in the past"] = """{"type":"a.b","title":"t","expiresAt":"2000-01-01T00:00:00Z","audience":{"everyone":true}}""",
        ["data is an array"] = """{"type":"a.b","title":"t","data":[1,2],"audience":{"everyone":true}}""",
        ["data is a string"] = """{"type":"a.b","title":"t","data":"x","audience":{"everyone":true}}""",
        ["data over 16 KB"] = $$$"""{"type":"a.b","title":"t","data":{"x":"{{{new string('d', 17 * 1024)}}}"},"audience":{"everyone":true}}""",
        ["data nested 100 deep"] = $$$"""{"type":"a.b","title":"t","data":{"x":{{{Deep}}}},"audience":{"everyone":true}}""",
        ["NUL in the title"] = """{"type":"a.b","title":"nul\u0000here","audience":{"everyone":true}}""",
        ["NUL in the body"] = """{"type":"a.b","title":"t","body":"nul\u0000here","audience":{"everyone":true}}""",
        ["NUL in a user id"] = """{"type":"a.b","title":"t","audience":{"users":["nul\u0000user"]}}""",
        ["lone surrogate in the title"] = """{"type":"a.b","title":"half \uD800 a pair","audience":{"everyone":true}}""",
        ["lone surrogate in data"] = """{"type":"a.b","title":"t","data":{"note":"half \uD800 a pair"},"audience":{"everyone":true}}""",
        ["lone surrogate in a data key"] = """{"type":"a.b","title":"t","data":{"\uDC00":1},"audience":{"everyone":true}}""",
    };

    /// <summary>Other REST calls that must be refused: method, path, JSON body (or none).</summary>
    public static TheoryData<string> RejectedCalls() => [.. CallCorpus.Keys];

    private static readonly Dictionary<string, (string Method, string Path, string? Body)> CallCorpus = new()
    {
        ["id beyond int64"] = ("GET", "api/notifications/99999999999999999999", null),
        ["negative id"] = ("GET", "api/notifications/-1", null),
        ["id that is not a number"] = ("GET", "api/notifications/1%20OR%201=1", null),
        ["read of a negative id"] = ("POST", "api/notifications/-5/read", null),
        ["retract of the largest id"] = ("DELETE", "api/notifications/9223372036854775807", null),
        ["read ids that are words"] = ("POST", "api/notifications/read", """{"ids":["one"]}"""),
        ["read ids null"] = ("POST", "api/notifications/read", """{"ids":null}"""),
        ["read ids fractional"] = ("POST", "api/notifications/read", """{"ids":[1.5]}"""),
        ["read ids beyond int64"] = ("POST", "api/notifications/read", """{"ids":[99999999999999999999]}"""),
        ["read ids not a list"] = ("POST", "api/notifications/read", """{"ids":1}"""),
        ["read of 1001 ids"] = ("POST", "api/notifications/read", $$$"""{"ids":[{{{string.Join(',', Enumerable.Range(1, 1001))}}}]}"""),
        ["inbox limit not a number"] = ("GET", "api/notifications?limit=abc", null),
        ["inbox limit zero"] = ("GET", "api/notifications?limit=0", null),
        ["inbox limit huge"] = ("GET", "api/notifications?limit=1000000", null),
        ["inbox before not a number"] = ("GET", "api/notifications?before=%27%20OR%20%271%27=%271", null),
        ["inbox status with markup"] = ("GET", "api/notifications?status=%3Cscript%3E", null),
        ["sync after negative"] = ("GET", "api/notifications/sync?after=-1", null),
        ["sync after beyond int64"] = ("GET", "api/notifications/sync?after=99999999999999999999", null),
        ["sync limit negative"] = ("GET", "api/notifications/sync?limit=-5", null),
        ["group name with markup"] = ("POST", "api/groups", """{"name":"<script>alert(1)</script>","kind":"open"}"""),
        ["group name with RTL override"] = ("POST", "api/groups", """{"name":"abc\u202Etxt","kind":"open"}"""),
        ["group name of 65 chars"] = ("POST", "api/groups", $$$"""{"name":"{{{new string('g', 65)}}}","kind":"open"}"""),
        ["group name null"] = ("POST", "api/groups", """{"name":null,"kind":"open"}"""),
        ["group kind unknown"] = ("POST", "api/groups", """{"name":"corpus-kind","kind":"secret"}"""),
        ["group with duplicate keys"] = ("POST", "api/groups", """{"name":"corpus-a","name":"corpus-b","kind":"open"}"""),
        ["member of an unknown group"] = ("PUT", "api/groups/no-such-group/members/bob", null),
        ["member of a group named with SQL"] = ("PUT", "api/groups/x%27%3B%20DROP%20TABLE%20x%3B--/members/bob", null),
        ["member id with NUL"] = ("PUT", $"api/groups/{OpenGroup}/members/nul%00user", null),
        ["member id with a newline"] = ("PUT", $"api/groups/{OpenGroup}/members/forged%0Aline", null),
        ["inbox status with NUL"] = ("GET", "api/notifications?status=all%00", null),
        ["member id of 129 chars"] = ("PUT", $"api/groups/{OpenGroup}/members/{new string('m', 129)}", null),
    };

    /// <summary>Hub calls that must be refused with a HubException: method and raw arguments.</summary>
    public static TheoryData<string> RejectedHubCalls() => [.. HubCorpus.Keys];

    private static readonly Dictionary<string, (string Method, object?[] Args)> HubCorpus = new()
    {
        ["Subscribe null"] = ("Subscribe", [null]),
        ["Subscribe empty"] = ("Subscribe", [""]),
        ["Subscribe SQL"] = ("Subscribe", ["x'; DROP TABLE \"Groups\"; --"]),
        ["Subscribe markup"] = ("Subscribe", ["<script>alert(1)</script>"]),
        ["Subscribe RTL override"] = ("Subscribe", ["abc\u202Etxt"]),
        ["Subscribe 10,000 chars"] = ("Subscribe", [new string('s', 10_000)]),
        ["Subscribe unknown group"] = ("Subscribe", ["no-such-group"]),
        ["Subscribe a number"] = ("Subscribe", [12345]),
        ["Subscribe an object"] = ("Subscribe", [new { name = OpenGroup }]),
        ["Unsubscribe null"] = ("Unsubscribe", [null]),
        ["Ack null"] = ("Ack", [null]),
        ["Ack strings"] = ("Ack", [new[] { "1", "2" }]),
        ["Ack a string"] = ("Ack", ["1,2,3"]),
        ["Ack 1001 ids"] = ("Ack", [Enumerable.Range(1, 1001).Select(i => (long)i).ToArray()]),
        ["MarkRead null"] = ("MarkRead", [null]),
        ["MarkRead fractions"] = ("MarkRead", [new[] { 1.5, 2.5 }]),
        ["MarkSeen null"] = ("MarkSeen", [null]),
        ["Sync negative after"] = ("Sync", [-1L, 10]),
        ["Sync zero limit"] = ("Sync", [0L, 0]),
        ["Sync huge limit"] = ("Sync", [0L, 1_000_000]),
        ["Sync wrong types"] = ("Sync", ["abc", "x"]),
        ["Sync missing argument"] = ("Sync", [1L]),
        ["GetUnreadCount extra arguments"] = ("GetUnreadCount", [1, 2, 3]),
        ["unknown method"] = ("DropDatabase", []),
        ["OnConnectedAsync called as a method"] = ("OnConnectedAsync", []),
    };

    [Theory]
    [MemberData(nameof(RejectedSends))]
    public async Task Refused_send_body_gets_a_4xx_ProblemDetails_and_changes_nothing(string name)
    {
        await EnsureOpenGroupAsync();
        var before = await SnapshotAsync();
        using var client = service.Client(Admin, "admin");
        using var content = new StringContent(SendCorpus[name], Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout(what: name);

        await AssertUsefulProblemAsync(response, name);
        Assert.Equal(before, await SnapshotAsync());
        await AssertServerUpAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    public async Task A_send_without_a_body_is_told_so_in_the_callers_terms(string body)
    {
        using var client = service.Client(Admin, "admin");
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout(what: $"body '{body}'");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(ProblemExceptionHandler.MissingBody, problem.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_send_in_the_wrong_content_type_gets_415_ProblemDetails()
    {
        var before = await SnapshotAsync();
        using var client = service.Client(Admin, "admin");
        using var content = new StringContent("""{"type":"a.b","title":"t","audience":{"everyone":true}}""", Encoding.UTF8, "text/plain");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout();

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertUsefulProblemAsync(response, "text/plain");
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task A_refusal_names_the_parameter_without_quoting_what_was_sent()
    {
        using var client = service.Client(Admin, "admin");
        using var query = await client.GetAsync("api/notifications?before=%27%20OR%20%271%27%3D%271").WithTimeout();
        await AssertUsefulProblemAsync(query, "an unparsable before");
        var refusal = await query.Content.ReadAsStringAsync();
        Assert.Contains("'before'", refusal.Replace("\u0027", "'", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain(" OR ", refusal, StringComparison.Ordinal);

        using var content = new StringContent("{}", Encoding.UTF8, "text/x-reflected");
        using var wrongType = await client.PostAsync("api/notifications", content).WithTimeout();
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        Assert.DoesNotContain("x-reflected", await wrongType.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_send_that_is_not_UTF8_gets_a_4xx_ProblemDetails_and_changes_nothing()
    {
        var before = await SnapshotAsync();
        using var client = service.Client(Admin, "admin");
        var bytes = Encoding.UTF8.GetBytes("""{"type":"a.b","title":"X","audience":{"everyone":true}}""");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xFF;
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout();

        await AssertUsefulProblemAsync(response, "invalid UTF-8");
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task A_surrogate_encoded_as_UTF8_in_data_gets_a_4xx_ProblemDetails_and_changes_nothing()
    {
        var before = await SnapshotAsync();
        using var client = service.Client(Admin, "admin");
        var bytes = Encoding.UTF8.GetBytes("""{"type":"a.b","title":"t","data":{"note":"XYZ"},"audience":{"everyone":true}}""");
        var at = Array.IndexOf(bytes, (byte)'X');
        (bytes[at], bytes[at + 1], bytes[at + 2]) = ((byte)0xED, (byte)0xA0, (byte)0x80); // U+D800 as if it were a code point
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout();

        await AssertUsefulProblemAsync(response, "a UTF-8 encoded surrogate in data");
        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [MemberData(nameof(RejectedCalls))]
    public async Task Refused_REST_call_gets_a_4xx_ProblemDetails_and_changes_nothing(string name)
    {
        await EnsureOpenGroupAsync();
        var (method, path, body) = CallCorpus[name];
        var before = await SnapshotAsync();
        using var client = service.Client(Admin, "admin");
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request).WithTimeout(what: name);

        if (path.Contains("%00", StringComparison.Ordinal) && !path.Contains('?', StringComparison.Ordinal))
        {
            // Kestrel itself refuses a NUL in the request path, before any of the app runs: a bare 400.
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        else
        {
            await AssertUsefulProblemAsync(response, name);
        }

        Assert.Equal(before, await SnapshotAsync());
        await AssertServerUpAsync();
    }

    [Theory]
    [MemberData(nameof(RejectedHubCalls))]
    public async Task Refused_hub_call_gets_a_HubException_and_changes_nothing(string name)
    {
        await EnsureOpenGroupAsync();
        var (method, args) = HubCorpus[name];
        await using var hub = await service.ConnectAsync(TestUsers.New("corpus-user", 24));
        var unread = await hub.InvokeAsync<int>("GetUnreadCount");
        var before = await SnapshotAsync();

        var error = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeCoreAsync<object?>(method, args).WithTimeout(what: name));

        Assert.False(string.IsNullOrWhiteSpace(error.Message), $"{name}: the HubException has no message");
        // SignalR prefixes a refusal's reason with "HubException: "; without one the client learns nothing.
        Assert.Contains("HubException: ", error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(error.Message.Split("HubException: ")[1]), $"{name}: no reason in '{error.Message}'");
        Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
        Assert.Equal(unread, await hub.InvokeAsync<int>("GetUnreadCount"));
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Ids_that_nobody_can_see_are_ignored_without_error_or_change()
    {
        await using var hub = await service.ConnectAsync(TestUsers.New("corpus-ids", 24));
        var before = await SnapshotAsync();

        await hub.InvokeAsync("Ack", new long[] { -1, 0, long.MaxValue });
        await hub.InvokeAsync("MarkSeen", new long[] { long.MinValue });
        var page = await hub.SyncAsync(long.MaxValue, 10);

        Assert.Empty(page.Items);
        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Markup_SQL_and_RTL_text_is_stored_verbatim_and_client_claimed_fields_are_ignored()
    {
        var recipient = TestUsers.New("corpus-rcpt", 24);
        const string Title = "<img src=x onerror=alert(1)> \u202Egnp.exe";
        const string Body = "<script>alert('x')</script> ' OR 1=1; DROP TABLE \"Notifications\"; -- \u05E9\u05DC\u05D5\u05DD\ttab \u0007bell";
        var request = new Dictionary<string, object?>
        {
            ["type"] = "corpus.markup",
            ["title"] = Title,
            ["body"] = Body,
            ["data"] = new { html = "<b onclick=\"x()\">bold</b>", nested = new object[] { 1, new { sql = "1; DELETE FROM x" } } },
            ["audience"] = new { users = new[] { recipient } },

            // Mass assignment: none of these may be taken from the client.
            ["id"] = 1,
            ["senderId"] = "someone-else",
            ["createdAt"] = "2000-01-01T00:00:00Z",
            ["readAt"] = "2000-01-01T00:00:00Z",
            ["unknownField"] = new { x = 1 },
        };

        var id = await service.SendAsync(Admin, request);
        using var client = service.Client(recipient);
        var raw = await client.GetStringAsync($"api/notifications/{id}").WithTimeout();
        var stored = System.Text.Json.JsonSerializer.Deserialize<NotificationDto>(raw, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));

        Assert.NotNull(stored);
        Assert.Equal(Title, stored.Title);
        Assert.Equal(Body, stored.Body);
        Assert.Equal("<b onclick=\"x()\">bold</b>", stored.Data!.Value.GetProperty("html").GetString());
        Assert.Equal("1; DELETE FROM x", stored.Data.Value.GetProperty("nested")[1].GetProperty("sql").GetString());
        Assert.Equal(Admin, stored.SenderId);
        Assert.Null(stored.ReadAt);
        Assert.True(stored.CreatedAt > new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.DoesNotContain("unknownField", raw, StringComparison.Ordinal);
    }

    private async Task AssertUsefulProblemAsync(HttpResponseMessage response, string name)
    {
        var body = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{name}: expected a 4xx, got {status}: {body}");
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{name}: not ProblemDetails: {body}");
        using var problem = JsonDocument.Parse(body);
        var root = problem.RootElement;
        Assert.Equal(status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("title").GetString()), $"{name}: no title");
        if (status is 400 or 409 or 413 or 415)
        {
            var explains = (root.TryGetProperty("detail", out var detail) && !string.IsNullOrWhiteSpace(detail.GetString()))
                || (root.TryGetProperty("errors", out var errors) && errors.EnumerateObject().Any());
            Assert.True(explains, $"{name}: a {status} should say what is wrong: {body}");
        }
    }

    private async Task AssertServerUpAsync()
    {
        using var anonymous = service.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/live").WithTimeout(what: "health/live")).StatusCode);
    }

    private async Task EnsureOpenGroupAsync()
    {
        using var admin = service.Client(Admin, "admin");
        using var response = await admin.PostAsJsonAsync("api/groups", new { name = OpenGroup, kind = "open" }).WithTimeout();
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, $"creating {OpenGroup}: {(int)response.StatusCode}");
    }

    /// <summary>Row counts of every table; the outbox once the dispatcher has drained earlier sends.</summary>
    private async Task<string> SnapshotAsync()
    {
        await Timeouts.Eventually(async () => await CountAsync(db => db.Outbox.CountAsync()) == 0, "the outbox to drain");
        return string.Join(", ", new[]
        {
            $"notifications={await CountAsync(db => db.Notifications.CountAsync())}",
            $"audience={await CountAsync(db => db.NotificationAudience.CountAsync())}",
            $"receipts={await CountAsync(db => db.Receipts.CountAsync())}",
            $"watermarks={await CountAsync(db => db.ReadWatermarks.CountAsync())}",
            $"groups={await CountAsync(db => db.Groups.CountAsync())}",
            $"members={await CountAsync(db => db.GroupMembers.CountAsync())}",
            $"outbox={await CountAsync(db => db.Outbox.CountAsync())}",
        });
    }

    private async Task<int> CountAsync(Func<NotificationsDbContext, Task<int>> count)
    {
        await using var scope = service.Services.CreateAsyncScope();
        return await count(scope.ServiceProvider.GetRequiredService<NotificationsDbContext>());
    }
}

public sealed class SqliteBadInputCorpusTests(SqliteServiceFixture service) : BadInputCorpusTests(service), IClassFixture<SqliteServiceFixture>;

public sealed class PostgresBadInputCorpusTests(PostgresServiceFixture service) : BadInputCorpusTests(service), IClassFixture<PostgresServiceFixture>;
