using Notifications.Api.Retention;

namespace Notifications.Api.Sending;

public static class DeliveryServiceCollectionExtensions
{
    /// <summary>The parts of the delivery promise beyond send and dispatch: test faults and the retention job.</summary>
    public static IServiceCollection AddNotificationsDelivery(this IServiceCollection services)
    {
        services.AddOptions<SendFaultOptions>().BindConfiguration(SendFaultOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SendGate>();
        services.AddSingleton<RetentionCleaner>();
        services.AddHostedService<RetentionJob>();
        return services;
    }
}
