using System.Net;
using System.Net.Http.Json;

namespace Notifications.Tests.Infrastructure;

public static class GroupRequests
{
    /// <summary>Creates a group (open or restricted) as whoever <paramref name="admin"/> is signed in as; fails the test on anything but 201.</summary>
    public static async Task CreateGroupAsync(this HttpClient admin, string name, string kind)
    {
        using var response = await admin.PostAsJsonAsync("api/groups", new { name, kind }).WithTimeout(what: $"creating group {name}");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
