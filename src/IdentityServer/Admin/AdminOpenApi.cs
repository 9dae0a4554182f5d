using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace IdentityServer.Admin;

/// <summary>
/// Completes the admin API's OpenAPI document: its title, and the security every route requires, a bearer access token
/// (RFC 6750) issued by this server with scope <c>idp.admin</c>.
/// </summary>
public sealed class AdminOpenApi : IOpenApiDocumentTransformer
{
    /// <inheritdoc />
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "IdentityServer admin API";
        document.Info.Description = "Clients, users, signing keys and the audit log. Every route needs a bearer access token of this server with scope idp.admin; errors are RFC 9457 problem documents.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
            Description = "An access token (RFC 9068 JWT) of this server with scope idp.admin.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = ["idp.admin"] });
        return Task.CompletedTask;
    }
}
