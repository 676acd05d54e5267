using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Notifications.Tests.Browser;

/// <summary>What a person types into the dashboard's compose form.</summary>
public sealed record Compose(string Type, string Title)
{
    public string? Body { get; init; }

    public string? Data { get; init; }

    public string? Priority { get; init; }

    /// <summary>datetime-local text, e.g. 2020-01-01T10:00.</summary>
    public string? ExpiresLocal { get; init; }

    public string? Users { get; init; }

    public bool Everyone { get; init; }
}

public static partial class DashboardSteps
{
    /// <summary>Fills the compose form the way a person would and presses "Send notification".</summary>
    public static async Task SubmitAsync(this BrowserTab dashboard, Compose compose)
    {
        await dashboard.TestId("compose-type").FillAsync(compose.Type);
        await dashboard.TestId("compose-title").FillAsync(compose.Title);
        await dashboard.TestId("compose-body").FillAsync(compose.Body ?? "");
        await dashboard.TestId("compose-data").FillAsync(compose.Data ?? "");
        await dashboard.TestId("compose-priority").SelectOptionAsync(compose.Priority ?? "normal");
        await dashboard.TestId("compose-expires").FillAsync(compose.ExpiresLocal ?? "");
        await dashboard.TestId("compose-users").FillAsync(compose.Users ?? "");
        await dashboard.TestId("compose-everyone").SetCheckedAsync(compose.Everyone);
        await dashboard.TestId("compose-send").ClickAsync();
    }

    /// <summary>Sends and returns the id the dashboard reports ("Sent #id").</summary>
    public static async Task<long> SendAsync(this BrowserTab dashboard, Compose compose)
    {
        var result = dashboard.TestId("compose-result");
        var previous = await result.GetAttributeAsync("data-id");
        await dashboard.SubmitAsync(compose);
        await Assertions.Expect(result).ToBeVisibleAsync();
        await Assertions.Expect(result).ToHaveTextAsync(SentText());
        if (previous is not null)
        {
            await Assertions.Expect(result).Not.ToHaveAttributeAsync("data-id", previous);
        }

        var id = await result.GetAttributeAsync("data-id");
        return long.Parse(id!, CultureInfo.InvariantCulture);
    }

    /// <summary>The row of one sent notification in the dashboard's live list.</summary>
    public static ILocator SentItem(this BrowserTab dashboard, long id) =>
        dashboard.Page.Locator($"[data-testid='sent-item'][data-id='{id}']");

    /// <summary>The inbox row of one notification.</summary>
    public static ILocator InboxItem(this BrowserTab inbox, long id) =>
        inbox.Page.Locator($"[data-testid='notification-item'][data-id='{id}']");

    [GeneratedRegex(@"^Sent #\d+$")]
    private static partial Regex SentText();
}
