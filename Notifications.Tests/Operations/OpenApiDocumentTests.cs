using System.Net;
using System.Text.Json;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// /openapi/v1.json is what client generators read: every value has a type, authentication is declared where the
/// service asks for it, and each operation lists the ProblemDetails errors it can answer with.
/// </summary>
public sealed class OpenApiDocumentTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private const string ProblemJson = "application/problem+json";

    [Fact]
    public async Task No_property_item_or_parameter_schema_is_left_untyped_and_every_array_says_what_it_holds()
    {
        var document = await DocumentAsync();

        var faults = new List<string>();
        Walk(document, "$", faults);

        Assert.True(faults.Count == 0, "Untyped schemas:\n" + string.Join('\n', faults));
    }

    [Fact]
    public async Task Text_is_typed_as_string_in_bodies_parameters_and_headers()
    {
        var document = await DocumentAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");

        foreach (var property in new[] { "type", "title", "priority", "senderId" })
        {
            Assert.Equal(["string"], Types(schemas.GetProperty("NotificationDto").GetProperty("properties").GetProperty(property)));
        }

        Assert.Equal(["null", "string"], Types(schemas.GetProperty("NotificationDto").GetProperty("properties").GetProperty("body")));
        Assert.Equal(["string"], Types(schemas.GetProperty("GroupDto").GetProperty("properties").GetProperty("name")));
        Assert.Equal(["string"], Types(schemas.GetProperty("GroupDto").GetProperty("properties").GetProperty("kind")));
        Assert.Contains("string", Types(schemas.GetProperty("CreateGroupRequest").GetProperty("properties").GetProperty("kind")));
        Assert.Contains("string", Types(schemas.GetProperty("SendNotificationRequest").GetProperty("properties").GetProperty("title")));

        Assert.Equal(["string"], Types(Parameter(Operation(document, "get", "/api/notifications"), "status")));
        Assert.Equal(["string"], Types(Parameter(Operation(document, "post", "/api/notifications"), "Idempotency-Key")));
        Assert.Equal(["string"], Types(Parameter(Operation(document, "put", "/api/groups/{name}/members/{userId}"), "name")));
        Assert.Equal(["string"], Types(Parameter(Operation(document, "put", "/api/groups/{name}/members/{userId}"), "userId")));
    }

    [Fact]
    public async Task A_notifications_data_is_an_object_or_null()
    {
        var document = await DocumentAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");

        foreach (var schema in new[] { "NotificationDto", "SendNotificationRequest" })
        {
            // Nullable, it is "oneOf": [{"type": "null"}, {"$ref": …}]; the framework's shape for a nullable struct.
            var data = schemas.GetProperty(schema).GetProperty("properties").GetProperty("data");
            var parts = data.TryGetProperty("oneOf", out var oneOf) ? [.. oneOf.EnumerateArray()] : new[] { data };
            var types = parts
                .Select(part => part.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : part)
                .SelectMany(Types)
                .ToList();
            Assert.True(types.Contains("object"), $"{schema}.data: {data.GetRawText()}");
        }
    }

    [Fact]
    public async Task Audience_lists_are_arrays_of_strings()
    {
        var document = await DocumentAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");

        foreach (var schema in new[] { "AudienceRequest", "AudienceSummary" })
        {
            foreach (var list in new[] { "users", "roles", "groups" })
            {
                var property = schemas.GetProperty(schema).GetProperty("properties").GetProperty(list);
                Assert.Contains("array", Types(property));
                Assert.True(property.TryGetProperty("items", out var items), $"{schema}.{list} has no items");
                Assert.Equal(["string"], Types(items));
            }
        }
    }

    [Fact]
    public async Task A_bearer_scheme_is_declared_and_required_by_every_api_operation_and_by_no_health_check()
    {
        var document = await DocumentAsync();

        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        var bearer = schemes.EnumerateObject().Single(s => s.Value.GetProperty("type").GetString() == "http");
        Assert.Equal("bearer", bearer.Value.GetProperty("scheme").GetString(), ignoreCase: true);
        Assert.Equal("JWT", bearer.Value.GetProperty("bearerFormat").GetString());

        // Anonymous operations stay anonymous only if nothing is required at the document level.
        Assert.False(document.TryGetProperty("security", out _));

        var api = Operations(document).Where(o => o.Path.StartsWith("/api/", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(api);
        foreach (var (path, method, operation) in api)
        {
            Assert.True(operation.TryGetProperty("security", out var security), $"{method} {path} declares no security");
            var requirement = Assert.Single(security.EnumerateArray());
            Assert.Equal([bearer.Name], requirement.EnumerateObject().Select(r => r.Name));
        }

        var health = Operations(document).Where(o => o.Path.StartsWith("/health/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["/health/live", "/health/ready"], health.Select(o => o.Path).Order(StringComparer.Ordinal));
        foreach (var (path, method, operation) in health)
        {
            Assert.False(operation.TryGetProperty("security", out _), $"{method} {path} requires a token");
            Assert.False(operation.GetProperty("responses").TryGetProperty("401", out _), $"{method} {path} declares 401");
        }
    }

    [Fact]
    public async Task Every_operation_that_requires_a_token_declares_401_and_every_error_is_ProblemDetails()
    {
        var document = await DocumentAsync();

        foreach (var (path, method, operation) in Operations(document))
        {
            var responses = operation.GetProperty("responses");
            if (operation.TryGetProperty("security", out _))
            {
                Assert.True(responses.TryGetProperty("401", out _), $"{method} {path} does not declare 401");
            }

            foreach (var response in responses.EnumerateObject().Where(r => r.Name[0] is '4' or '5' && !path.StartsWith("/health/", StringComparison.Ordinal)))
            {
                Assert.True(
                    response.Value.TryGetProperty("content", out var content) && content.TryGetProperty(ProblemJson, out _),
                    $"{method} {path} {response.Name} is not declared as {ProblemJson}");
            }
        }
    }

    [Fact]
    public async Task Each_endpoint_declares_the_errors_it_answers_with()
    {
        var document = await DocumentAsync();

        // The contract's errors of a send: validation, no token, audience not allowed, unknown group, idempotency
        // conflict, body too large, rate limited, store down.
        Assert.Superset(Statuses(400, 401, 403, 404, 409, 413, 429, 503), Declared(document, "post", "/api/notifications"));
        Assert.Superset(Statuses(401, 403, 404, 503), Declared(document, "delete", "/api/notifications/{id}"));
        Assert.Superset(Statuses(401, 404, 503), Declared(document, "get", "/api/notifications/{id}"));
        Assert.Superset(Statuses(400, 401, 413, 503), Declared(document, "post", "/api/notifications/read"));
        Assert.Superset(Statuses(401, 404, 503), Declared(document, "get", "/api/groups/{name}"));
        Assert.Superset(Statuses(400, 401, 403, 409, 413, 503), Declared(document, "post", "/api/groups"));
        Assert.Superset(Statuses(400, 401, 403, 404, 503), Declared(document, "put", "/api/groups/{name}/members/{userId}"));
        Assert.Superset(Statuses(401, 403, 503), Declared(document, "get", "/api/admin/stats"));

        // Nothing it never answers: only the send is rate limited, and reading an inbox forbids nothing.
        foreach (var (path, method, operation) in Operations(document).Where(o => o is not { Method: "post", Path: "/api/notifications" }))
        {
            Assert.False(operation.GetProperty("responses").TryGetProperty("429", out _), $"{method} {path} declares 429");
        }

        Assert.DoesNotContain("403", Declared(document, "get", "/api/notifications"));
        Assert.DoesNotContain("409", Declared(document, "get", "/api/groups/{name}"));

        // Clients are told how long to back off.
        var send = Operation(document, "post", "/api/notifications").GetProperty("responses");
        Assert.True(send.GetProperty("429").GetProperty("headers").TryGetProperty("Retry-After", out _));
        Assert.True(send.GetProperty("503").GetProperty("headers").TryGetProperty("Retry-After", out _));
    }

    private async Task<JsonElement> DocumentAsync()
    {
        using var anonymous = service.Anonymous();
        using var response = await anonymous.GetAsync("openapi/v1.json").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>
    /// Every schema that describes a value (a parameter's, a body's, a property, an array's items, a map's values)
    /// must say something about it; a bare <c>{}</c> is "anything" to a client generator.
    /// </summary>
    private static void Walk(JsonElement element, string path, List<string> faults)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var member in element.EnumerateObject())
                {
                    var at = $"{path}.{member.Name}";
                    if (member.Name is "schema" or "items" or "additionalProperties")
                    {
                        CheckSchema(member.Value, at, faults);
                    }
                    else if (member.Name == "properties" && member.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var property in member.Value.EnumerateObject())
                        {
                            CheckSchema(property.Value, $"{at}.{property.Name}", faults);
                        }
                    }

                    Walk(member.Value, at, faults);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, $"{path}[{index++}]", faults);
                }

                break;
        }
    }

    private static void CheckSchema(JsonElement schema, string path, List<string> faults)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (!schema.EnumerateObject().Any())
        {
            faults.Add($"{path}: {{}}");
        }
        else if (!schema.EnumerateObject().Any(k => k.Name is "type" or "$ref" or "oneOf" or "anyOf" or "allOf" or "enum" or "const"))
        {
            faults.Add($"{path}: no type ({schema.GetRawText()})");
        }
        else if (Types(schema).Contains("array") && !schema.TryGetProperty("items", out _))
        {
            faults.Add($"{path}: an array without items");
        }
    }

    private static string[] Types(JsonElement schema) =>
        !schema.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal)]
        : [type.GetString()!];

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> Operations(JsonElement document) =>
        from path in document.GetProperty("paths").EnumerateObject()
        from operation in path.Value.EnumerateObject()
        where operation.Name is "get" or "put" or "post" or "delete" or "patch"
        select (path.Name, operation.Name, operation.Value);

    private static JsonElement Operation(JsonElement document, string method, string path) =>
        document.GetProperty("paths").GetProperty(path).GetProperty(method);

    private static JsonElement Parameter(JsonElement operation, string name) =>
        operation.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name).GetProperty("schema");

    private static HashSet<string> Declared(JsonElement document, string method, string path) =>
        [.. Operation(document, method, path).GetProperty("responses").EnumerateObject().Select(r => r.Name)];

    private static HashSet<string> Statuses(params int[] statuses) => [.. statuses.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
