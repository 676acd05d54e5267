using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Notifications.Api.Admin;
using Notifications.Api.Auth;
using Notifications.Api.Errors;
using Notifications.Api.Groups;
using Notifications.Api.Hardening;
using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Api.OpenApi;
using Notifications.Api.Sending;
using Notifications.Infrastructure;

namespace Notifications.Api;

public static class ApiExtensions
{
    public const string HealthLivePath = "/health/live";
    public const string HealthReadyPath = "/health/ready";

    public static WebApplicationBuilder AddNotificationsApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemDetailsDefaults.Customize);
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddValidation();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.AllowTrailingCommas = false;

            // {"title":"a","title":"b"}: parsers disagree on which one wins, so neither does; it is a 400.
            o.SerializerOptions.AllowDuplicateProperties = false;
            o.SerializerOptions.Converters.Add(new NulFreeStringConverter());
        });
        services.AddNotificationsOpenApi();

        services.AddNotificationsAuth(builder.Environment);
        services.AddNotificationsDatabase(configuration, builder.Environment);
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddSignalR(o =>
            {
                o.AddFilter<HubErrorFilter>();
                o.EnableDetailedErrors = false;
            })
            .AddNotificationsBackplane(configuration, builder.Environment);
        services.AddNotificationsHubProtocols();
        services.AddSingleton<IUserIdProvider, SubUserIdProvider>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<HubErrorFilter>();
        builder.AddNotificationsHardening();

        services.AddScoped<InboxQueries>();
        services.AddScoped<ReadStateService>();
        services.AddScoped<MembershipService>();
        services.AddScoped<NotificationSender>();
        services.AddSingleton<NotificationDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<NotificationDispatcher>());
        services.AddSingleton<MissedPushReplayer>();
        services.AddHostedService(sp => sp.GetRequiredService<MissedPushReplayer>());
        services.AddNotificationsDelivery();
        services.AddSingleton<GroupMoves>();
        services.AddHostedService<MembershipMover>();
        services.AddHostedService<UnreadCountPusher>();
        services.AddHostedService<InstanceReporter>();
        return builder;
    }

    public static WebApplication MapNotificationsApi(this WebApplication app)
    {
        app.UseMiddleware<RequestLogMiddleware>();

        // Hub WebSockets skip the error pages (nothing to render once upgraded) and are authenticated and authorized in a
        // lane of their own (see HubSocketAuthenticationMiddleware): each middleware that awaits the rest of a request is
        // held per connection.
        app.UseWhen(context => !HubSocketAuthenticationMiddleware.Handles(context), errors => errors.UseExceptionHandler().UseStatusCodePages());
        app.UseNotificationsRequestGuards();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseWhen(context => !HubSocketAuthenticationMiddleware.Handles(context), authentication => authentication.UseAuthentication());

        // UseAuthentication and UseAuthorization mark the builder they are called on; inside UseWhen that is the branch,
        // and WebApplication would then add a second middleware of each in front of everything.
        ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        app.UseMiddleware<HubSocketAuthenticationMiddleware>();
        app.UseWhen(context => !HubSocketAuthenticationMiddleware.Handles(context), authorization => authorization.UseAuthorization());
        ((IApplicationBuilder)app).Properties["__AuthorizationMiddlewareSet"] = true;
        app.UseRateLimiter();

        app.MapOpenApi().AllowAnonymous();
        app.MapDevelopmentApiReference();
        app.MapHealthChecks(HealthLivePath, new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks(HealthReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).AllowAnonymous();
        if (app.Environment.IsDevelopment())
        {
            app.MapDevTokenEndpoint();
        }

        var notifications = app.MapGroup("/api/notifications").RequireAuthorization().WithTags("Notifications").DeclaresApiProblems();
        notifications.MapSendEndpoints();
        notifications.MapInboxEndpoints();
        app.MapGroupEndpoints();
        app.MapAdminEndpoints();
        // Hub arguments are checked by the hub; minimal-API validation would only wrap every connection in a filter frame.
        var limits = app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        app.MapHub<NotificationHub>("/hubs/notifications", options => HardeningExtensions.ConfigureHubEndpoint(options, limits)).DisableValidation();
        return app;
    }
}
