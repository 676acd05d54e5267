using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Notifications.LoadTest.Cli;

namespace Notifications.LoadTest.Baseline;

/// <summary>
/// `baseline --port N`: a minimal ASP.NET Core SignalR server with the same hub path, send endpoint and message
/// shape as the real service, so every scenario can run A/B against plain SignalR.
/// </summary>
internal static class BaselineServer
{
    public static async Task<int> RunAsync(CliArgs args)
    {
        var host = args.Get("host", "127.0.0.1");
        var port = args.GetInt("port", 5080, 1);
        var redis = args.Get("redis");
        var store = new BaselineStore(!args.Flag("no-store"), args.GetInt("store-limit", 2_000_000, 1));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(args.Flag("verbose") ? LogLevel.Information : LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Parse(host == "localhost" ? "127.0.0.1" : host), port);
            k.AddServerHeader = false;
        });
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<IUserIdProvider, BaselineUserIdProvider>();
        var signalr = builder.Services.AddSignalR();
        var messagePack = !args.Flag("no-messagepack");
        if (messagePack)
        {
            // Besides JSON, for `run --protocol messagepack`: each client picks one in its handshake, and a push is
            // serialized only in the protocols its receivers use. With Redis, though, every push is published in every
            // protocol the hub accepts, hence --no-messagepack for JSON runs over a backplane (as our service's default).
            signalr.AddMessagePackProtocol(o => o.SerializerOptions = BaselineMessagePack.SerializerOptions);
        }

        if (!string.IsNullOrEmpty(redis))
        {
            signalr.AddStackExchangeRedis(redis, o =>
                o.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal(args.Get("redis-prefix", "baseline")));
        }

        await using var app = builder.Build();
        app.UseWebSockets();
        app.MapHub<BaselineHub>("/hubs/notifications");
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        app.MapGet("/health/ready", () => Results.Ok(new { status = "ready" }));
        MapApi(app, store);

        await app.StartAsync();
        Console.WriteLine($"baseline SignalR server listening on http://{host}:{port} (hub /hubs/notifications, " +
            $"store {(store.Enabled ? "on" : "off")}, backplane {(string.IsNullOrEmpty(redis) ? "none" : "redis")}, " +
            $"protocols {(messagePack ? "json, messagepack" : "json")}), pid {Environment.ProcessId}");
        await app.WaitForShutdownAsync();
        return 0;
    }

    private static void MapApi(WebApplication app, BaselineStore store)
    {
        app.MapPost("/api/notifications", async (HttpContext http, IHubContext<BaselineHub> hub) =>
        {
            JsonDocument doc;
            try
            {
                doc = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            }
            catch (JsonException)
            {
                return Results.Problem(title: "invalid JSON", statusCode: 400);
            }

            using (doc)
            {
                var root = doc.RootElement;
                var type = Str(root, "type");
                var title = Str(root, "title");
                if (string.IsNullOrEmpty(type) || string.IsNullOrEmpty(title))
                {
                    return Results.ValidationProblem(new Dictionary<string, string[]> { ["type"] = ["type and title are required"] });
                }

                var everyone = false;
                string[] users = [], roles = [], groups = [];
                if (root.TryGetProperty("audience", out var aud) && aud.ValueKind == JsonValueKind.Object)
                {
                    everyone = aud.TryGetProperty("everyone", out var e) && e.ValueKind == JsonValueKind.True;
                    users = Strs(aud, "users");
                    roles = Strs(aud, "roles");
                    groups = Strs(aud, "groups");
                }

                if (!everyone && users.Length == 0 && roles.Length == 0 && groups.Length == 0)
                {
                    return Results.ValidationProblem(new Dictionary<string, string[]> { ["audience"] = ["audience is empty"] });
                }

                JsonElement? data = root.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d.Clone() : null;
                var body = Str(root, "body");
                var priority = Str(root, "priority") ?? "normal";
                var sender = UnvalidatedJwt.UserOf(http);
                DateTimeOffset? expires = root.TryGetProperty("expiresAt", out var x) && x.ValueKind == JsonValueKind.String
                    ? x.GetDateTimeOffset()
                    : null;

                var n = store.Add((id, now) => new BaselineNotification(id, type, title, body, data, priority, sender, now, expires, null, null, null),
                    everyone, users, roles, groups);

                if (everyone)
                {
                    await hub.Clients.All.SendAsync("ReceiveNotification", n, http.RequestAborted);
                }
                else
                {
                    var tasks = new List<Task>(3);
                    if (users.Length > 0)
                    {
                        tasks.Add(hub.Clients.Users(users).SendAsync("ReceiveNotification", n, http.RequestAborted));
                    }

                    var groupNames = roles.Select(r => "role:" + r).Concat(groups.Select(g => "group:" + g)).ToArray();
                    if (groupNames.Length > 0)
                    {
                        tasks.Add(hub.Clients.Groups(groupNames).SendAsync("ReceiveNotification", n, http.RequestAborted));
                    }

                    await Task.WhenAll(tasks);
                }

                return Results.Created($"/api/notifications/{n.Id.ToString(CultureInfo.InvariantCulture)}", new { id = n.Id, createdAt = n.CreatedAt });
            }
        });

        app.MapGet("/api/notifications", (HttpContext http, long? before, int? limit, string? status) =>
        {
            var (user, roles) = Caller(http);
            return user is null
                ? Results.Unauthorized()
                : Results.Ok(store.Inbox(user, roles, before, limit ?? 20, string.Equals(status, "unread", StringComparison.OrdinalIgnoreCase)));
        });

        app.MapGet("/api/notifications/sync", (HttpContext http, long? after, int? limit) =>
        {
            var (user, roles) = Caller(http);
            return user is null ? Results.Unauthorized() : Results.Ok(store.Sync(user, roles, after ?? 0, limit ?? 100));
        });

        app.MapGet("/api/notifications/unread-count", (HttpContext http) =>
        {
            var (user, roles) = Caller(http);
            return user is null ? Results.Unauthorized() : Results.Ok(new { count = store.UnreadCount(user, roles) });
        });

        app.MapPost("/api/notifications/read-all", (HttpContext http) =>
        {
            var (user, _) = Caller(http);
            if (user is null)
            {
                return Results.Unauthorized();
            }

            store.ReadAll(user);
            return Results.NoContent();
        });
    }

    private static (string? User, string[] Roles) Caller(HttpContext http)
    {
        var (sub, roles) = UnvalidatedJwt.Read(UnvalidatedJwt.FromHttp(http));
        return (sub ?? UnvalidatedJwt.UserOf(http), roles);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string[] Strs(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
            : [];
}
