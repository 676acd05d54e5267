using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Notifications.Api.Sending;

namespace Notifications.Tests.Sending;

/// <summary>
/// The send handler checks its body with <see cref="SendRequestRules"/>; the attributes on
/// <see cref="SendNotificationRequest"/> are what OpenAPI publishes. These tests hold the two to the same verdicts and
/// the same messages, field by field, over values on both sides of every rule.
/// </summary>
public sealed class SendRequestRulesTests
{
    private static readonly DateTime Now = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    private static readonly SendNotificationRequest Valid = new()
    {
        Type = "order.shipped",
        Title = "Your order shipped",
        Audience = new AudienceRequest { Users = ["u-1"] },
    };

    private static readonly SendNotificationRequest EverythingWrong = new()
    {
        Type = "Not A Type!",
        Title = "",
        Body = new string('b', 4001),
        Data = Json("[1, 2]"),
        Priority = "urgent",
        ExpiresAt = Now.AddMinutes(-1),
        Audience = new AudienceRequest(),
    };

    public static TheoryData<string> Variants() => [.. Cases().Keys];

    [Theory]
    [MemberData(nameof(Variants))]
    public void Handler_rules_and_published_attributes_agree(string variant)
    {
        var request = Cases()[variant];

        var handler = SendRequestRules.Check(request, Now) ?? [];

        Assert.Equal(AttributeVerdict(request), handler.ToDictionary(e => e.Key, e => string.Join(" | ", e.Value)));
    }

    [Fact]
    public void A_valid_request_has_no_errors()
    {
        Assert.Null(SendRequestRules.Check(Valid, Now));
    }

    [Fact]
    public void Every_bad_field_is_named_once_in_declaration_order()
    {
        var errors = SendRequestRules.Check(EverythingWrong, Now);

        Assert.NotNull(errors);
        Assert.Equal(["type", "title", "body", "data", "priority", "expiresAt", "audience"], errors.Keys);
        Assert.All(errors.Values, messages => Assert.Single(messages));
    }

    [Fact]
    public void Data_is_measured_in_UTF8_bytes_as_sent()
    {
        // 8 bytes of JSON around n two-byte characters: n = 8,200 is 16,408 bytes in 8,208 characters.
        static SendNotificationRequest WithData(int twoByteCharacters) =>
            Valid with { Data = Json($$"""{"k":"{{new string('\u00e9', twoByteCharacters)}}"}""") };

        var errors = SendRequestRules.Check(WithData(8_200), Now);

        Assert.NotNull(errors);
        Assert.Equal("data must be at most 16384 bytes serialized.", Assert.Single(errors["data"]));
        Assert.Null(SendRequestRules.Check(WithData(8_188), Now));
    }

    [Fact]
    public void Data_must_be_Unicode_text()
    {
        static string? ErrorFor(byte[] data)
        {
            using var document = JsonDocument.Parse(data);
            return SendRequestRules.Check(Valid with { Data = document.RootElement.Clone() }, Now)?["data"].Single();
        }

        const string NotText = "data must be Unicode text: valid UTF-8, without a lone surrogate (a \\uD800-\\uDFFF escape without its pair).";

        // The JSON parser takes all of these; no string can be read from the first three.
        Assert.Equal(NotText, ErrorFor([.. "{\"k\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8]));
        Assert.Equal(NotText, ErrorFor([.. "{\"k\":\""u8, 0xFF, .. "\"}"u8]));
        Assert.Equal(NotText, ErrorFor([.. "{\"k\":[\"\\udbff\\u0041\"]}"u8]));
        Assert.Null(ErrorFor([.. "{\"k\":\"\u00e9\\u00e9\"}"u8]));
    }

    private static Dictionary<string, SendNotificationRequest> Cases()
    {
        var cases = new Dictionary<string, SendNotificationRequest> { ["valid"] = Valid };
        void Add(string name, SendNotificationRequest request) => cases[name] = request;

        foreach (var (name, type) in new (string, string?)[]
        {
            ("null", null), ("empty", ""), ("blank", "  "), ("upper", "Order"), ("space", "a b"), ("newline", "abc\n"),
            ("max", new string('a', 100)), ("too long", new string('a', 101)), ("all kinds", "a.b_c-9"), ("leading space", " a"),
        })
        {
            Add($"type {name}", Valid with { Type = type });
        }

        foreach (var (name, title) in new (string, string?)[]
        {
            ("null", null), ("empty", ""), ("blank", " \t"), ("max", new string('t', 200)), ("too long", new string('t', 201)),
        })
        {
            Add($"title {name}", Valid with { Title = title });
        }

        foreach (var (name, body) in new (string, string?)[] { ("empty", ""), ("max", new string('b', 4000)), ("too long", new string('b', 4001)) })
        {
            Add($"body {name}", Valid with { Body = body });
        }

        foreach (var (name, data) in new (string, string)[]
        {
            ("object", """{"k":[1,{"x":null}]}"""), ("json null", "null"), ("array", "[1]"), ("string", "\"x\""),
            ("too big", $$"""{"k":"{{new string('d', 16_400)}}"}"""), ("too big in UTF-8", $$"""{"k":"{{new string('\u00e9', 8_200)}}"}"""),
            ("lone surrogate", """{"k":"a\ud800"}"""), ("lone surrogate key", """{"\udfff":1}"""), ("escaped pair", """{"k":"\ud83d\ude00"}"""),
            ("escaped backslash before u", """{"k":"\\ud800"}"""), ("beyond double", """{"k":[1e400,-1e400,1e-400]}"""),
        })
        {
            Add($"data {name}", Valid with { Data = Json(data) });
        }

        foreach (var priority in new[] { "low", "normal", "high", "critical", "HIGH", "urgent", "", " low" })
        {
            Add($"priority '{priority}'", Valid with { Priority = priority });
        }

        Add("expiresAt past", Valid with { ExpiresAt = Now.AddSeconds(-1) });
        Add("expiresAt now", Valid with { ExpiresAt = Now });
        Add("expiresAt future", Valid with { ExpiresAt = Now.AddSeconds(1) });
        Add("expiresAt unspecified kind, past", Valid with { ExpiresAt = DateTime.SpecifyKind(Now.AddHours(-1), DateTimeKind.Unspecified) });

        Add("audience null", Valid with { Audience = null });
        Add("audience empty", Valid with { Audience = new AudienceRequest() });
        Add("audience everyone", Valid with { Audience = new AudienceRequest { Everyone = true } });
        Add("audience blank user", Valid with { Audience = new AudienceRequest { Users = [" "] } });
        Add("audience user too long", Valid with { Audience = new AudienceRequest { Users = [new string('u', 129)] } });
        Add("audience role with control character", Valid with { Audience = new AudienceRequest { Roles = ["a\u0001"] } });
        Add("audience bad group", Valid with { Audience = new AudienceRequest { Groups = ["bad group"] } });
        Add("audience too many", Valid with { Audience = new AudienceRequest { Users = [.. Enumerable.Range(0, 1001).Select(i => $"u{i}")] } });

        Add("everything wrong", EverythingWrong);
        return cases;
    }

    /// <summary>What the attributes say: DataAnnotations' validator, one message per field, keys as the API names them.</summary>
    private static Dictionary<string, string> AttributeVerdict(SendNotificationRequest request)
    {
        var results = new List<ValidationResult>();
        var context = new ValidationContext(request, new ClockServices(Now), items: null);
        Validator.TryValidateObject(request, context, results, validateAllProperties: true);
        return results
            .GroupBy(r => JsonNamingPolicy.CamelCase.ConvertName(r.MemberNames.Single()))
            .ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(r => r.ErrorMessage)));
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private sealed class ClockServices(DateTime now) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(TimeProvider) ? new FixedClock(now) : null;
    }

    private sealed class FixedClock(DateTime now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(now);
    }
}
