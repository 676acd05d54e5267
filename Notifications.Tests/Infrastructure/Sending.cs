using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Notifications.Api.Sending;

namespace Notifications.Tests.Infrastructure;

public static class Sending
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Posts a send as whoever <paramref name="sender"/> is signed in as and returns the service's answer; fails the
    /// test, quoting the response body, on anything but 201 Created.
    /// </summary>
    public static async Task<SendResult> SendNotificationAsync(this HttpClient sender, object request)
    {
        using var response = await sender.PostAsJsonAsync("api/notifications", request).WithTimeout(what: "the send");
        var body = await response.Content.ReadAsStringAsync().WithTimeout(what: "the send's response body");
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Send to {sender.BaseAddress} failed with {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<SendResult>(body, Json)!;
    }
}
