using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Notifications.Api.OpenApi;

/// <summary>
/// Adds the health checks to the document: they are not route handlers, so the API explorer does not list them, yet
/// probes and operators call them. Anonymous: no security requirement.
/// </summary>
internal sealed class HealthPathsTransformer : IOpenApiDocumentTransformer
{
    private const string Tag = "Health";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = Tag });
        document.Paths[ApiExtensions.HealthLivePath] = Probe(
            document,
            "Liveness: the process answers; no dependency is checked.",
            mayBeUnhealthy: false);
        document.Paths[ApiExtensions.HealthReadyPath] = Probe(
            document,
            "Readiness: the database answers, Redis too when configured, and the instance is not shutting down.",
            mayBeUnhealthy: true);
        return Task.CompletedTask;
    }

    private static OpenApiPathItem Probe(OpenApiDocument document, string summary, bool mayBeUnhealthy)
    {
        var responses = new OpenApiResponses { ["200"] = Status("Every check passed.", "Healthy") };
        if (mayBeUnhealthy)
        {
            responses["503"] = Status("A check failed.", "Unhealthy");
        }

        var probe = new OpenApiOperation
        {
            Summary = summary,
            Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
            Responses = responses,
        };
        return new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = probe } };
    }

    private static OpenApiResponse Status(string description, string status) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [(JsonNode)status] } },
        },
    };
}
