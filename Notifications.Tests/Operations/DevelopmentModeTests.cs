using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// Development runs with nothing configured (a generated signing key), mints tokens at /dev/token and serves the
/// Scalar API browser; other environments do neither. The OpenAPI document is anonymous everywhere.
/// </summary>
public sealed class DevelopmentModeTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task Development_generates_a_key_mints_working_dev_tokens_and_serves_the_Scalar_UI()
    {
        var directory = Directory.CreateTempSubdirectory("notifications-dev-").FullName;
        await using var process = new ServiceProcess(DatabaseSettings.Sqlite(Path.Combine(directory, "n.db"), new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Auth:SigningKey"] = "",
        }));
        await process.StartAsync();
        using var http = new HttpClient { BaseAddress = process.BaseUri, Timeout = Timeouts.Default };

        using var minted = await http.PostAsJsonAsync("dev/token", new { userId = "dev-alice", roles = new[] { "admin" } }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, minted.StatusCode);
        var token = (await minted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        using var authed = new HttpRequestMessage(HttpMethod.Get, "api/notifications/unread-count") { Headers = { Authorization = new("Bearer", token) } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(authed).WithTimeout()).StatusCode);

        // A token from the test key is not accepted: this process signs with a key of its own.
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "api/notifications/unread-count") { Headers = { Authorization = new("Bearer", TestTokens.For("dev-alice")) } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(foreign).WithTimeout()).StatusCode);

        // The dev token is anonymous in the OpenAPI document too, while the API asks for the bearer token.
        using var document = JsonDocument.Parse(await http.GetStringAsync("openapi/v1.json").WithTimeout());
        var paths = document.RootElement.GetProperty("paths");
        Assert.False(paths.GetProperty("/dev/token").GetProperty("post").TryGetProperty("security", out _));
        Assert.True(paths.GetProperty("/api/notifications").GetProperty("post").TryGetProperty("security", out _));

        using var scalar = await http.GetAsync("scalar").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
        Assert.Equal("text/html", scalar.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_OpenAPI_document_is_anonymous_and_outside_Development_there_is_no_Scalar_UI_or_dev_token()
    {
        using var anonymous = service.Anonymous();

        using var document = await anonymous.GetAsync("openapi/v1.json").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        using var openApi = JsonDocument.Parse(await document.Content.ReadAsStringAsync());
        Assert.True(openApi.RootElement.GetProperty("paths").TryGetProperty("/api/notifications", out _));

        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("scalar").WithTimeout()).StatusCode);
        using var devToken = await anonymous.PostAsJsonAsync("dev/token", new { userId = "x" }).WithTimeout();
        Assert.True(devToken.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"dev/token answered {(int)devToken.StatusCode}");
    }
}
