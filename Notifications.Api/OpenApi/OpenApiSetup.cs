namespace Notifications.Api.OpenApi;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c>, with what the generator cannot see for itself added.</summary>
public static class OpenApiSetup
{
    public static IServiceCollection AddNotificationsOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options => options
            .AddSchemaTransformer<StringSchemaTransformer>()
            .AddDocumentTransformer<BearerSecurityTransformer>()
            .AddOperationTransformer<BearerSecurityTransformer>()
            .AddOperationTransformer<ProblemResponsesTransformer>()
            .AddDocumentTransformer<HealthPathsTransformer>());
}
