using Microsoft.Extensions.Options;
using Notifications.Api;
using Notifications.Api.Hardening;
using Notifications.Infrastructure;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddNotificationsApi();

    var app = builder.Build();
    app.MapNotificationsApi();

    // Settings are checked before the database is touched: a misconfigured instance must not migrate anything.
    app.Services.GetRequiredService<IStartupValidator>().Validate();

    var migrateOnly = args.Contains("--migrate-only");
    if (migrateOnly || app.Configuration.GetValue("Database:MigrateOnStartup", true))
    {
        await app.Services.MigrateNotificationsDatabaseAsync();
    }

    if (!migrateOnly)
    {
        await app.RunAsync();
    }
}
catch (Exception ex) when (StartupFailure.IsInvalidConfiguration(ex))
{
    return StartupFailure.Report(ex);
}

return 0;
