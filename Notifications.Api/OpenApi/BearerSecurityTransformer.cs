using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Notifications.Api.OpenApi;

/// <summary>
/// Declares the JWT bearer scheme, and requires it on exactly the operations whose endpoints require authorization:
/// decided from the endpoint metadata the authorization middleware reads, so an anonymous endpoint (the dev token)
/// stays anonymous in the document as well.
/// </summary>
internal sealed class BearerSecurityTransformer : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    public const string SchemeName = JwtBearerDefaults.AuthenticationScheme;

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.AddComponent(SchemeName, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT in the Authorization header: the user id in `sub`, roles in `role`. The hub also takes it as ?access_token=.",
        });
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (RequiresAuthorization(context.Description.ActionDescriptor.EndpointMetadata))
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] }];
        }

        return Task.CompletedTask;
    }

    /// <summary>Whether the authorization middleware wants an authenticated caller for an endpoint with this metadata.</summary>
    public static bool RequiresAuthorization(IEnumerable<object> metadata)
    {
        var all = metadata as IReadOnlyCollection<object> ?? [.. metadata];
        return !all.OfType<IAllowAnonymous>().Any() && all.Any(m => m is IAuthorizeData or AuthorizationPolicy);
    }
}
