using System.Collections.Concurrent;
using Microsoft.Playwright;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Browser;

/// <summary>A console error or uncaught exception seen in a page.</summary>
public sealed record PageProblem(string Tab, string Kind, string Text, string Url)
{
    public override string ToString() => $"[{Tab}] {Kind}: {Text} ({Url})";
}

/// <summary>
/// The browser contexts of one test. A context is a separate device (its own storage and cookies); a tab is a page
/// in a context. Every page's console errors, uncaught exceptions and dialogs are recorded from its first moment.
/// </summary>
public sealed class BrowserSession(BrowserFixture fixture) : IAsyncDisposable
{
    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    public static readonly ViewportSize Phone = new() { Width = 375, Height = 812 };

    private readonly List<IBrowserContext> contexts = [];
    private readonly ConcurrentQueue<PageProblem> problems = new();
    private readonly ConcurrentQueue<string> dialogs = new();

    public IReadOnlyCollection<PageProblem> Problems => problems;

    /// <summary>Messages of every alert/confirm/prompt any page opened (each is dismissed at once).</summary>
    public IReadOnlyCollection<string> Dialogs => dialogs;

    /// <summary>A new device (browser context) with one tab, not signed in.</summary>
    public async Task<BrowserTab> NewDeviceAsync(string name, ViewportSize? viewport = null, bool phone = false)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Server.BaseUri.ToString(),
            ViewportSize = viewport ?? Desktop,
            IsMobile = phone,
            HasTouch = phone,
            Locale = "en-US",
            TimezoneId = "UTC",
            ColorScheme = ColorScheme.Light,
        }).WithTimeout(BrowserFixture.Patience, "a browser context");
        context.SetDefaultTimeout((float)BrowserFixture.Patience.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)BrowserFixture.Patience.TotalMilliseconds);
        contexts.Add(context);
        return await NewTabAsync(context, name);
    }

    /// <summary>A second tab on the same device. sessionStorage is per tab, so it signs in by itself.</summary>
    public Task<BrowserTab> NewTabAsync(BrowserTab sameDevice, string name) => NewTabAsync(sameDevice.Page.Context, name);

    /// <summary>The inbox at /, signed in through the development sign-in form, with its live connection up.</summary>
    public async Task<BrowserTab> InboxAsync(string userId, string name, ViewportSize? viewport = null, bool phone = false)
    {
        var tab = await NewDeviceAsync(name, viewport, phone);
        await tab.SignInAsync("/", userId);
        return tab;
    }

    /// <summary>The dashboard at /admin/, signed in as an admin, with its live connection up and the sent list loaded.</summary>
    public async Task<BrowserTab> DashboardAsync(string userId, string name, ViewportSize? viewport = null)
    {
        var tab = await NewDeviceAsync(name, viewport);
        await tab.SignInAsync("/admin/", userId, "admin");
        await Assertions.Expect(tab.TestId("compose-form")).ToBeVisibleAsync();
        await Assertions.Expect(tab.TestId("sent-updated")).Not.ToBeEmptyAsync();
        return tab;
    }

    /// <summary>
    /// Fails with every console error and uncaught exception seen, except the expected ones: a console error whose
    /// text starts with <c>Text</c> and whose source URL contains <c>UrlPart</c> (e.g. the browser's own
    /// "Failed to load resource … 400" line for a deliberate bad request).
    /// </summary>
    public void AssertNoConsoleErrors(params (string Text, string UrlPart)[] expected)
    {
        var unexpected = problems
            .Where(p => !expected.Any(e => p.Kind == "console" && p.Text.StartsWith(e.Text, StringComparison.Ordinal) && p.Url.Contains(e.UrlPart, StringComparison.Ordinal)))
            .ToList();
        Assert.True(unexpected.Count == 0, "Console errors in the browser:\n" + string.Join('\n', unexpected));
    }

    private async Task<BrowserTab> NewTabAsync(IBrowserContext context, string name)
    {
        var page = await context.NewPageAsync().WithTimeout(BrowserFixture.Patience, "a new tab");
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Enqueue(new PageProblem(name, "console", message.Text, message.Location));
            }
        };
        page.PageError += (_, error) => problems.Enqueue(new PageProblem(name, "pageerror", error, page.Url));
        page.Dialog += (_, dialog) =>
        {
            dialogs.Enqueue($"[{name}] {dialog.Type}: {dialog.Message}");
            _ = dialog.DismissAsync();
        };
        return new BrowserTab(page, name);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var context in contexts)
        {
            await context.CloseAsync().WithTimeout(BrowserFixture.Patience, "a browser context to close");
        }
    }
}

/// <summary>One page, with the steps the tests share.</summary>
public sealed class BrowserTab(IPage page, string name)
{
    public IPage Page { get; } = page;

    public string Name { get; } = name;

    public ILocator TestId(string testId) => Page.GetByTestId(testId);

    /// <summary>
    /// Runs a script in the page. Playwright puts no time limit on an evaluation: bounded here, a hung page fails the
    /// step that hung, with this tab's name and <paramref name="what"/>, instead of running into the test's timeout.
    /// </summary>
    public Task<T> EvaluateAsync<T>(string script, string what) => Page.EvaluateAsync<T>(script).WithTimeout(BrowserFixture.Patience, $"{what} in tab {Name}");

    /// <inheritdoc cref="EvaluateAsync{T}(string, string)"/>
    public Task EvaluateAsync(string script, string what) => Page.EvaluateAsync(script).WithTimeout(BrowserFixture.Patience, $"{what} in tab {Name}");

    /// <summary>Signs in with the development form (POST /dev/token) and waits for the live connection.</summary>
    public async Task SignInAsync(string path, string userId, params string[] roles)
    {
        await Page.GotoAsync(path);
        await TestId("signin-user").FillAsync(userId);
        await TestId("signin-roles").FillAsync(string.Join(", ", roles));
        await TestId("signin-submit").ClickAsync();
        await Assertions.Expect(TestId("user-chip")).ToHaveTextAsync(userId);
        await Assertions.Expect(TestId("connection-state")).ToHaveAttributeAsync("data-state", "connected");
    }

    /// <summary>Saves a PNG of the top of the page under TestResults/screenshots (kept as a test artifact).</summary>
    public async Task<string> ScreenshotAsync(string fileName)
    {
        var path = Path.Combine(BrowserFixture.ScreenshotDirectory, fileName + ".png");
        await EvaluateAsync("() => window.scrollTo(0, 0)", "the scroll to the top");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, Animations = ScreenshotAnimations.Disabled });
        return path;
    }
}
